package io.streamvision.captioning.streams;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.proto.vision.v1.ImageResult;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PendingResultsTest {

    private static final ImageResult RESULT = ImageResult.newBuilder()
            .setRequestId("r-1")
            .setFirstPartAtMs(17)
            .setLastPartAtMs(19)
            .build();

    @Test
    void aV2ValueGivesBackItsResultAndHeaders() throws Exception {
        byte[] headers = "encoded headers".getBytes(StandardCharsets.UTF_8);
        PendingResults.Stored read = PendingResults.read(PendingResults.v2(RESULT, headers));
        assertEquals(RESULT, read.result());
        assertArrayEquals(headers, read.headers());

        PendingResults.Stored none = PendingResults.read(PendingResults.v2(RESULT, new byte[0]));
        assertEquals(RESULT, none.result());
        assertArrayEquals(new byte[0], none.headers(), "no headers to carry, but not a V1 value");
    }

    @Test
    void aV1ValueIsTheResultAloneWithItsHeadersElsewhere() throws Exception {
        byte[] v1 = RESULT.toByteArray();
        assertEquals(false, v1[0] == 0, "what makes the formats distinct");
        PendingResults.Stored read = PendingResults.read(v1);
        assertEquals(RESULT, read.result());
        assertNull(read.headers());
    }

    @Test
    void unknownFormatsAndCutValuesAreRefused() {
        byte[] v2 = PendingResults.v2(RESULT, new byte[] {1, 2, 3});
        byte[] v3 = v2.clone();
        v3[1] = 3;
        assertThrows(InvalidProtocolBufferException.class, () -> PendingResults.read(v3));
        assertThrows(InvalidProtocolBufferException.class, () -> PendingResults.read(Arrays.copyOf(v2, 4)));
        byte[] longHeaders = v2.clone();
        longHeaders[2] = 0x7f;
        assertThrows(InvalidProtocolBufferException.class, () -> PendingResults.read(longHeaders));
    }
}
