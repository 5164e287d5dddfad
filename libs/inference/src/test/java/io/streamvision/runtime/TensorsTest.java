package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class TensorsTest {

    private static ByteString littleEndian(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return ByteString.copyFrom(b.array());
    }

    @Test
    void readsLittleEndianRawContentsAsFloats() {
        ByteString raw = littleEndian(1.5f, -2f, 3.25f);
        assertArrayEquals(new float[] {1.5f, -2f, 3.25f}, Tensors.floats(raw));
        assertArrayEquals(new float[] {1.5f, -2f}, Tensors.floats(raw, 2), "the first row of a batch");
    }

    @Test
    void refusesContentsThatAreNotWholeFloatsOrTooShort() {
        assertThrows(IllegalArgumentException.class, () -> Tensors.floats(ByteString.copyFrom(new byte[] {1, 2, 3})));
        assertThrows(IllegalArgumentException.class, () -> Tensors.floats(littleEndian(1f), 2));
    }
}
