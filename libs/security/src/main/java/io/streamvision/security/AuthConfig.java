package io.streamvision.security;

import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Token authentication of a service's gRPC and REST endpoints ({@code <prefix>.auth.*}). Off by
 * default, so a local set-up answers anyone; on, every call needs {@code authorization: Bearer
 * <token>}: a JWT signed by one of the configured keys, or a key listed in {@link #apiKeys()}.
 */
public interface AuthConfig {

    /** Require a token on every call except health and metrics. */
    @WithDefault("false")
    boolean enabled();

    /** PEM file of the public key (RSA or EC, {@code BEGIN PUBLIC KEY}) that signs the JWTs. */
    Optional<Path> jwtPublicKey();

    /** JWKS file (a JSON Web Key Set) of the keys that sign the JWTs; read again when it changes. */
    Optional<Path> jwks();

    /** Required {@code iss} claim; any issuer when unset. */
    Optional<String> issuer();

    /** Required {@code aud} claim; any audience when unset. */
    Optional<String> audience();

    /** The claim that lists the token's permission groups (a JSON array or a space-separated string). */
    @WithDefault("groups")
    String groupsClaim();

    /** Seconds of clock difference allowed when checking {@code exp} and {@code nbf}. */
    @WithDefault("30")
    int clockSkewSeconds();

    /**
     * File of static API keys, one per line: {@code <name> <sha256 of the key, hex> <group>[,<group>...]}
     * ({@code #} starts a comment). Read again when it changes.
     */
    Optional<Path> apiKeys();
}
