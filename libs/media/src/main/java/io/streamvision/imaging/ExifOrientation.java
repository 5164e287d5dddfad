package io.streamvision.imaging;

import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEG;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegment;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegmentUtil;
import com.twelvemonkeys.imageio.metadata.tiff.TIFF;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads the EXIF orientation of a JPEG (TwelveMonkeys' metadata reader) and applies it, so a photo
 * taken with the camera on its side reaches the model upright. Stateless, thread-safe.
 */
public final class ExifOrientation {

    private ExifOrientation() {}

    /** The EXIF orientation (1–8) of a JPEG, 1 when there is none or it cannot be read. */
    public static int read(byte[] jpeg) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(jpeg))) {
            List<JPEGSegment> segments = JPEGSegmentUtil.readSegments(in, JPEG.APP1, "Exif");
            if (segments.isEmpty()) {
                return 1;
            }
            InputStream data = segments.get(0).data();
            if (data.read() < 0) {
                return 1;
            }
            try (ImageInputStream exif = ImageIO.createImageInputStream(data)) {
                Directory directory = new TIFFReader().read(exif);
                Entry entry = directory.getEntryById(TIFF.TAG_ORIENTATION);
                if (entry == null || !(entry.getValue() instanceof Number n)) {
                    return 1;
                }
                int value = n.intValue();
                return value >= 1 && value <= 8 ? value : 1;
            }
        } catch (Exception e) {
            // Broken metadata does not make the pixels unusable: keep the stored orientation.
            return 1;
        }
    }

    /** The image as it should be displayed for an EXIF orientation. */
    public static RgbImage apply(RgbImage image, int orientation) {
        if (orientation <= 1 || orientation > 8) {
            return image;
        }
        int w = image.width();
        int h = image.height();
        int c = image.channels();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        // Every orientation is a mirror of the stored rows and/or columns, then for 5-8 a transpose:
        // 2 mirrors columns, 3 both, 4 rows; 5 transposes, 6 mirrors rows first, 7 both, 8 columns.
        boolean mirrorColumns = orientation == 2 || orientation == 3 || orientation == 7 || orientation == 8;
        boolean mirrorRows = orientation == 3 || orientation == 4 || orientation == 6 || orientation == 7;
        byte[] out = new byte[image.pixels().length];
        for (int y = 0; y < h; y++) {
            int my = mirrorRows ? h - 1 - y : y;
            for (int x = 0; x < w; x++) {
                int mx = mirrorColumns ? w - 1 - x : x;
                int nx = swap ? my : mx;
                int ny = swap ? mx : my;
                System.arraycopy(image.pixels(), (y * w + x) * c, out, (ny * ow + nx) * c, c);
            }
        }
        return new RgbImage(ow, oh, c, out);
    }
}
