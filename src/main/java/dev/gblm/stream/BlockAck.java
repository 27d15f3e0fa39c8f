package dev.gblm.stream;

/**
 * Block task → planner on {@code gblm.finalize-acks} (key = profile id, JSON): one mask block of an epoch was emitted.
 * With header {@link Topics#HEADER_BAD_SLICE} the record is a bad-slice notice instead and only {@code block} is set.
 */
public record BlockAck(String job, int epoch, String block) {
    /** Checks the fields of an ack (not of a notice); throws {@link RecordFormatException} with the reason. */
    public BlockAck validate() {
        if (job == null || job.isEmpty() || epoch < 1 || block == null || block.isEmpty()) {
            throw new RecordFormatException("ack needs job, epoch >= 1 and block, got " + this);
        }
        return this;
    }
}
