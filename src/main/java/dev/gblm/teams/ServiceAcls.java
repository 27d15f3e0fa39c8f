package dev.gblm.teams;

import static dev.gblm.teams.AclRule.Operation.CREATE;
import static dev.gblm.teams.AclRule.Operation.DELETE;
import static dev.gblm.teams.AclRule.Operation.DESCRIBE;
import static dev.gblm.teams.AclRule.Operation.DESCRIBE_CONFIGS;
import static dev.gblm.teams.AclRule.Operation.READ;
import static dev.gblm.teams.AclRule.Operation.WRITE;
import static dev.gblm.teams.AclRule.Resource.CLUSTER;
import static dev.gblm.teams.AclRule.Resource.GROUP;
import static dev.gblm.teams.AclRule.Resource.TOPIC;
import static dev.gblm.teams.AclRule.Resource.TRANSACTIONAL_ID;

import dev.gblm.GblmException;
import dev.gblm.stream.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The service principals and exactly what each service's clients do (read off the services' code): the only
 * principals that may write gblm's internal topics. Nothing here grants a team anything.
 */
public final class ServiceAcls {
    /** The worker's transactional ids: {@code gblm-worker-<profile>-<worker id>} (Worker.transactionalId). */
    static final String WORKER_TRANSACTIONAL_PREFIX = "gblm-worker-";
    /** The exporter's transactional id is {@code gblm-exporter-<group>} (Exporter.producerProperties). */
    static final String EXPORTER_TRANSACTIONAL_PREFIX = "gblm-exporter-";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private ServiceAcls() {}

    /**
     * The service principals' user names and the client ids the services run with.
     *
     * @param worker                 the worker's user
     * @param finalizer              the finalizer's user
     * @param exporter               the exporter's user
     * @param workerGroupPrefix      prefix of the workers' consumer groups: {@code --group} of {@code gblm worker}, or
     *                               its default {@code gblm-worker-<profile>}; default {@code gblm-worker} covers both
     * @param finalizerApplicationId the finalizer's Kafka Streams application id ({@code --application-id})
     * @param exporterGroup          the exporter's consumer group ({@code --group})
     */
    public record Names(String worker, String finalizer, String exporter, String workerGroupPrefix,
            String finalizerApplicationId, String exporterGroup) {
        public static final Names DEFAULT = new Names("gblm-worker", "gblm-finalizer", "gblm-exporter", "gblm-worker",
                "gblm-finalizer", "gblm-exporter");

        public Names {
            for (String n : new String[] {worker, finalizer, exporter, workerGroupPrefix, finalizerApplicationId,
                    exporterGroup}) {
                if (n == null || !NAME.matcher(n).matches()) {
                    throw new GblmException("invalid service principal or client id '" + n
                            + "': use 1-64 of A-Z a-z 0-9 . _ -");
                }
            }
            if (worker.equals(finalizer) || worker.equals(exporter) || finalizer.equals(exporter)) {
                throw new GblmException("the worker, finalizer and exporter need three different principals, got "
                        + worker + ", " + finalizer + ", " + exporter);
            }
        }
    }

    /** Worker: calib.* → gblm.stats + gblm.slices in one transaction per slice; rejects → gblm.dlq. */
    public static AclSet worker(Names n) {
        List<AclRule> r = new ArrayList<>();
        r.add(AclRule.prefixed(TOPIC, Topics.CALIBRATION_PREFIX, "consumes every calibration stream (pattern subscription)",
                READ, DESCRIBE));
        r.add(AclRule.prefixed(GROUP, n.workerGroupPrefix(), "its consumer group (also read by the KEDA scaler)",
                READ, DESCRIBE));
        for (Topics.Topic<?, ?> t : List.of(Topics.STATS, Topics.SLICES)) {
            r.add(AclRule.literal(TOPIC, t.name(), "one transaction per slice", WRITE, DESCRIBE));
        }
        r.add(AclRule.literal(TOPIC, Topics.DLQ.name(), "rejected samples", WRITE, DESCRIBE));
        r.add(AclRule.prefixed(TRANSACTIONAL_ID, WORKER_TRANSACTIONAL_PREFIX,
                "ids gblm-worker-PROFILE-WORKERID", WRITE, DESCRIBE));
        return new AclSet("worker", List.of(n.worker()), r, Quota.NONE);
    }

    /** Finalizer (Kafka Streams, exactly_once_v2): the planner and the block tasks. */
    public static AclSet finalizer(Names n) {
        String app = n.finalizerApplicationId();
        List<AclRule> r = new ArrayList<>();
        r.add(AclRule.prefixed(TOPIC, "gblm.", "start-up check of every topic definition (describe, configs)",
                DESCRIBE, DESCRIBE_CONFIGS));
        r.add(AclRule.literal(TOPIC, Topics.JOBS.name(), "the shared jobs (global store); relays the teams' jobs to it", READ,
                WRITE));
        r.add(AclRule.prefixed(TOPIC, Topics.TEAM_JOBS_PREFIX, "every team's jobs (gblm.jobs.<team>)", READ));
        r.add(AclRule.literal(TOPIC, Topics.STATS.name(), "statistics of the slices", READ));
        r.add(AclRule.literal(TOPIC, Topics.SLICES.name(), "slice records", READ));
        r.add(AclRule.literal(TOPIC, Topics.FINALIZE.name(), "planner to block tasks", READ, WRITE));
        r.add(AclRule.literal(TOPIC, Topics.ACKS.name(), "block tasks to planner", READ, WRITE));
        for (Topics.Topic<?, ?> t : List.of(Topics.EPOCHS, Topics.MASKS, Topics.JOB_STATUS, Topics.DLQ)) {
            r.add(AclRule.literal(TOPIC, t.name(), "written by the finalizer", WRITE));
        }
        r.add(AclRule.prefixed(TOPIC, app + "-", "Kafka Streams internal topics (changelogs, repartition: purged)",
                CREATE, DELETE, DESCRIBE, DESCRIBE_CONFIGS, READ, WRITE));
        r.add(AclRule.literal(GROUP, app, "the application's consumer group", READ, DESCRIBE));
        r.add(AclRule.prefixed(TRANSACTIONAL_ID, app + "-", "exactly_once_v2 producers (APPLICATIONID-PROCESS-N)",
                WRITE, DESCRIBE));
        r.add(AclRule.literal(CLUSTER, AclRule.CLUSTER_NAME, "reads the ACLs (Admin.describeAcls) to check team grants",
                DESCRIBE));
        return new AclSet("finalizer", List.of(n.finalizer()), r, Quota.NONE);
    }

    /** Exporter: gblm.epochs + gblm.masks → checkpoints; model-ready events → gblm.models. */
    public static AclSet exporter(Names n) {
        List<AclRule> r = new ArrayList<>();
        r.add(AclRule.literal(TOPIC, Topics.EPOCHS.name(), "epoch declarations", READ, DESCRIBE));
        r.add(AclRule.literal(TOPIC, Topics.MASKS.name(), "mask blocks", READ, DESCRIBE));
        r.add(AclRule.literal(TOPIC, Topics.MODELS.name(), "writes events; reads them back at start", READ, WRITE,
                DESCRIBE));
        r.add(AclRule.literal(TOPIC, Topics.DLQ.name(), "unusable records", WRITE, DESCRIBE));
        r.add(AclRule.literal(GROUP, n.exporterGroup(), "its consumer group (offsets committed in the transaction)",
                READ, DESCRIBE));
        r.add(AclRule.literal(TRANSACTIONAL_ID, EXPORTER_TRANSACTIONAL_PREFIX + n.exporterGroup(),
                "id gblm-exporter-GROUP", WRITE, DESCRIBE));
        return new AclSet("exporter", List.of(n.exporter()), r, Quota.NONE);
    }

    /** Worker, finalizer and exporter. */
    public static List<AclSet> all(Names n) {
        return List.of(worker(n), finalizer(n), exporter(n));
    }
}
