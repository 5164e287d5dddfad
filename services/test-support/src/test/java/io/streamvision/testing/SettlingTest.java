package io.streamvision.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SettlingTest {

    @Test
    void settlesWhenEveryFigureAgreesWithTheLastRoundWithinFivePercent() {
        Settling s = new Settling();
        assertFalse(s.settled(1000, 0.50), "one round is no agreement");
        assertFalse(s.settled(1400, 0.45), "throughput still rising");
        assertFalse(s.settled(1420, 0.40), "CPU per image still falling (the JIT)");
        assertTrue(s.settled(1430, 0.39));
    }
}
