package io.streamvision.testing;

/**
 * When a benchmark's warm-up is over: after two rounds in a row whose figures (images/s, CPU per
 * image, ...) each agree within 5 %, so the JIT compiler and the first transactions are out of what
 * is measured next. Not thread-safe: one per warm-up.
 */
public final class Settling {

    private static final double AGREEMENT = 0.05;

    private double[] previous;

    /** Records one round's figures; true when each is within 5 % of the last round's. */
    public boolean settled(double... figures) {
        boolean agree = previous != null && previous.length == figures.length;
        for (int i = 0; agree && i < figures.length; i++) {
            agree = Math.abs(figures[i] - previous[i]) < AGREEMENT * Math.abs(figures[i]);
        }
        previous = figures.clone();
        return agree;
    }
}
