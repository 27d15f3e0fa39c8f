package dev.gblm.stream.topics;

import java.util.List;

/** What {@link TopicAdmin} found or did for one topic. */
public record TopicReport(String topic, Status status, List<String> problems, List<String> notes) {
    public enum Status { CREATED, OK, MISMATCH, MISSING }

    public TopicReport {
        problems = List.copyOf(problems);
        notes = List.copyOf(notes);
    }

    public boolean healthy() {
        return status == Status.CREATED || status == Status.OK;
    }

    /** One line per topic, plus indented lines for each problem and note. */
    public String describe() {
        StringBuilder sb = new StringBuilder(String.format("%-9s %s", status, topic));
        for (String p : problems) {
            sb.append("\n    mismatch: ").append(p);
        }
        for (String n : notes) {
            sb.append("\n    note: ").append(n);
        }
        return sb.toString();
    }
}
