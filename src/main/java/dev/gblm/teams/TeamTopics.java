package dev.gblm.teams;

import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicSpec;

/** The topic a team gets besides its calibration streams: its job topic, defined like {@code gblm.jobs}. */
public final class TeamTopics {
    private TeamTopics() {}

    /** {@code gblm.jobs.<team>} with the partitions, replication and configs of {@code gblm.jobs} in {@code catalog}. */
    public static TopicSpec jobsTopic(String team, TopicCatalog catalog) {
        TopicSpec shared = catalog.get(Topics.JOBS.name());
        return new TopicSpec(Topics.teamJobsTopic(team), "job definitions of team " + team
                + " (compacted, keyed by job id)", shared.partitions(), shared.replicationFactor(), shared.configs());
    }
}
