package io.streamvision.imaging;

import java.util.Locale;

/**
 * What happens to an image's embedded colour profile (a model input's {@code colour_management}).
 *
 * <ul>
 *   <li>{@link #NONE} (the default): the profile is ignored and the pixels are the values the file
 *       stores, as PIL and therefore torchvision decode them; CMYK becomes RGB by PIL's formula. A
 *       model trained with a torchvision pipeline sees the pixels it was trained on.
 *   <li>{@link #SRGB}: pixels are converted from the embedded profile to sRGB (LittleCMS, the JDK's
 *       colour engine), as PIL's {@code ImageCms.profileToProfile(..., sRGB)} does, for models
 *       trained on colour-managed images. Images without a profile are taken as sRGB.
 * </ul>
 */
public enum ColourManagement {
    NONE,
    SRGB;

    /** The mode a config value names; null or empty means {@link #NONE}. */
    public static ColourManagement parse(String value) {
        if (value == null || value.isBlank()) {
            return NONE;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "none" -> NONE;
            case "srgb" -> SRGB;
            default ->
                throw new IllegalArgumentException(
                        "colour_management must be \"none\" or \"srgb\", not \"" + value + "\"");
        };
    }
}
