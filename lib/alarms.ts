import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import type { JobQueue } from "./job-queue.js";

export interface JobAlarmsProps {
  readonly queue: JobQueue;
  /**
   * Alarm when the oldest message in the job queue has been this old for three minutes: jobs are
   * waiting longer than their attempts and retries explain (workers throttled, failing or stuck). The
   * default leaves room for a job that runs close to the worker's 15-minute limit and retries once.
   * @default Duration.minutes(30)
   */
  readonly oldestMessageAge?: Duration;
  /**
   * Alarm when the dead-letter queue holds at least this many messages: jobs ran out of attempts and
   * the dead-letter handler has not (yet) marked them failed.
   * @default 1
   */
  readonly deadLetterDepth?: number;
  /**
   * Where the alarms notify (for example an SNS topic action).
   * @default - none: the alarms show in the CloudWatch console
   */
  readonly actions?: readonly IAlarmAction[];
}

/** The two signals that something is wrong with job processing. */
export class JobAlarms extends Construct {
  public readonly deadLetterDepth: Alarm;
  public readonly oldestMessageAge: Alarm;

  constructor(scope: Construct, id: string, props: JobAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    this.deadLetterDepth = new Alarm(this, "DeadLetterDepth", {
      alarmDescription:
        "Jobs reached the dead-letter queue: they ran out of attempts or could not be processed",
      metric: props.queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: "Maximum",
      }),
      threshold: props.deadLetterDepth ?? 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.oldestMessageAge = new Alarm(this, "OldestMessageAge", {
      alarmDescription: "Jobs are waiting in the job queue longer than expected",
      metric: props.queue.queue.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" }),
      threshold: (props.oldestMessageAge ?? Duration.minutes(30)).toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    for (const action of props.actions ?? []) {
      this.deadLetterDepth.addAlarmAction(action);
      this.oldestMessageAge.addAlarmAction(action);
    }
  }
}
