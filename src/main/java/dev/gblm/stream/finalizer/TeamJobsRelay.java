package dev.gblm.stream.finalizer;

import dev.gblm.GblmException;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.Json;
import dev.gblm.stream.RecordFormatException;
import dev.gblm.stream.Topics;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Relays the team job topics ({@code gblm.jobs.<team>}, read by pattern) to {@code gblm.jobs}, stamping each job with
 * the team named by the topic it came from. Kafka records do not carry their producer's principal; the topic does,
 * because only the team (and admins) may write it — so the team a job gets here cannot be forged, whatever the
 * submitted JSON says. A job id must start with {@code <team>.}, which keeps team jobs apart from each other and from
 * admin jobs: a team cannot replace or delete another team's job. Refused records go to the DLQ; a refused job of the
 * team's own namespace also gets a REFUSED status, so {@code gblm job status} tells the team why.
 */
final class TeamJobsRelay implements Processor<String, byte[], String, byte[]> {
    private final FinalizerMetrics metrics;
    private ProcessorContext<String, byte[]> ctx;

    TeamJobsRelay(FinalizerMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        ctx = context;
    }

    @Override
    public void process(Record<String, byte[]> rec) {
        DeadLetters.processOrDeadLetter(ctx, metrics, rec, this::relay);
    }

    private void relay(Record<String, byte[]> rec) {
        String topic = ctx.recordMetadata().map(m -> m.topic()).orElse("");
        String team = Topics.teamOfJobsTopic(topic);
        if (team == null) {
            DeadLetters.send(ctx, metrics, rec, "invalid-job", "topic " + topic + " is not a team job topic");
            return;
        }
        String id = rec.key();
        if (id == null || !id.startsWith(team + ".")) {
            DeadLetters.send(ctx, metrics, rec, "foreign-job-id", "job id '" + id + "' on " + topic + " must start with '"
                    + team + ".' (a team names only its own jobs)");
            return;
        }
        if (rec.value() == null) {
            ctx.forward(new Record<String, byte[]>(id, null, rec.timestamp()), FinalizerTopology.JOBS_SINK);
            return;
        }
        JobSpec job;
        try {
            job = Json.read(rec.value(), JobSpec.class).withTeam(team).validated();
            if (!job.id().equals(id)) {
                throw new GblmException("job record keyed " + id + " names id " + job.id());
            }
        } catch (RecordFormatException | GblmException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-job", e.getMessage());
            JobStatus refused = new JobStatus(id, team, JobStatus.State.REFUSED, "invalid job: " + e.getMessage(), 0, 0, 0,
                    false, 0, ctx.currentSystemTimeMs());
            ctx.forward(new Record<>(id, Json.write(refused), rec.timestamp()), FinalizerTopology.JOB_STATUS_SINK);
            return;
        }
        ctx.forward(new Record<>(id, Json.write(job), rec.timestamp()), FinalizerTopology.JOBS_SINK);
    }
}
