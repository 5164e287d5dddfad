package io.streamvision.imaging.bench;

import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.ImagenetInput;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Single-thread preprocessing throughput: decode a JPEG, shorter side to 256, centre crop 224,
 * normalise to FP32 NCHW — the ImageNet recipe — with the same code the services run. Prints
 * images/s for the whole step and for decoding alone. Arguments: JPEG file, seconds.
 */
public final class PreprocessBenchmark {

    public static void main(String[] args) throws Exception {
        byte[] jpeg = Files.readAllBytes(Path.of(args[0]));
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        ModelConfig.TensorSpec spec = ImagenetInput.spec(null);
        RgbImage first = decoder.decode(jpeg);
        System.out.printf("input %dx%d JPEG, %d bytes%n", first.width(), first.height(), jpeg.length);
        for (int i = 0; i < 50; i++) {
            TensorPreparer.prepare(decoder.decode(jpeg), spec, false);
        }
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long start = System.nanoTime();
        int n = 0;
        while (System.nanoTime() < end) {
            TensorPreparer.prepare(decoder.decode(jpeg), spec, false);
            n++;
        }
        double full = n / ((System.nanoTime() - start) / 1e9);
        end = System.nanoTime() + (long) (seconds * 1e9 / 2);
        start = System.nanoTime();
        n = 0;
        while (System.nanoTime() < end) {
            decoder.decode(jpeg);
            n++;
        }
        double decodeOnly = n / ((System.nanoTime() - start) / 1e9);
        System.out.printf(Locale.ROOT, "java decode+resize+crop+normalise: %.1f images/s (1 thread)%n", full);
        System.out.printf(Locale.ROOT, "java decode only: %.1f images/s (1 thread)%n", decodeOnly);
    }
}
