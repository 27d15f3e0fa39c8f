package dev.gblm.engine;

/** Summed next-token negative log-likelihood (nats) over {@code count} predicted tokens. */
public record LossResult(double nllSum, int count) {
    public double meanNll() {
        return count == 0 ? Double.NaN : nllSum / count;
    }

    public double perplexity() {
        return Math.exp(meanNll());
    }

    public LossResult plus(LossResult o) {
        return new LossResult(nllSum + o.nllSum, count + o.count);
    }
}
