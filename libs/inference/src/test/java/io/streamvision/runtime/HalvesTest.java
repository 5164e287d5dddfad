package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** binary16 conversions: every half survives a round trip, and floats round to nearest even. */
class HalvesTest {

    @Test
    void everyHalfRoundTrips() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Halves.toFloat((short) h);
            if (Float.isNaN(f)) {
                assertEquals(0x7C00, Halves.fromFloat(f) & 0x7C00, "NaN stays NaN");
                continue;
            }
            assertEquals((short) h, Halves.fromFloat(f), "half 0x" + Integer.toHexString(h) + " = " + f);
        }
    }

    @Test
    void floatsRoundToNearestEven() {
        assertEquals(0x3C00, Halves.fromFloat(1.0f));
        assertEquals(0x3C00, Halves.fromFloat(1.0f + 0x1p-11f), "halfway between 1 and the next half: to even");
        assertEquals(0x3C01, Halves.fromFloat(1.0f + 0x1p-11f + 0x1p-20f), "above halfway: up");
        assertEquals(0x7BFF, Halves.fromFloat(65504f), "largest half");
        assertEquals(0x7C00, Halves.fromFloat(65520f), "rounds past the largest half: infinity");
        assertEquals(0x0001, Halves.fromFloat(0x1p-24f), "smallest subnormal");
        assertEquals(0x0000, Halves.fromFloat(0x1p-25f), "halfway to the smallest subnormal: to even (zero)");
        assertEquals((short) 0xC000, Halves.fromFloat(-2f));
    }
}
