package io.streamvision.security;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.consumer.ErrorCodes;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.keys.resolvers.JwksVerificationKeyResolver;

/**
 * Checks the bearer token of a call and the group its endpoint needs ({@link Permissions}). A token
 * is a JWT signed by the configured public key or JWKS (RS*, PS* or ES* only; {@code exp}
 * required; issuer and audience when configured), or a static API key whose SHA-256 is listed in
 * the API-key file. The same checks serve gRPC ({@link GrpcAuthInterceptor}) and HTTP ({@link
 * HttpAuthFilter}).
 */
public final class Authenticator {

    private static final AlgorithmConstraints SIGNATURES = new AlgorithmConstraints(
            AlgorithmConstraints.ConstraintType.PERMIT,
            AlgorithmIdentifiers.RSA_USING_SHA256,
            AlgorithmIdentifiers.RSA_USING_SHA384,
            AlgorithmIdentifiers.RSA_USING_SHA512,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA256,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA384,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA512,
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            AlgorithmIdentifiers.ECDSA_USING_P384_CURVE_AND_SHA384,
            AlgorithmIdentifiers.ECDSA_USING_P521_CURVE_AND_SHA512);

    /** Authentication off: every call is {@link Caller#ANONYMOUS}. */
    public static final Authenticator OFF = new Authenticator();

    private final boolean enabled;
    private final boolean clientCertificates;
    private final String groupsClaim;
    private final List<Supplier<JwtConsumer>> verifiers = new ArrayList<>();
    private final Supplier<Map<String, Caller>> apiKeys;

    private Authenticator() {
        this(false);
    }

    private Authenticator(boolean clientCertificates) {
        this.clientCertificates = clientCertificates;
        enabled = false;
        groupsClaim = "groups";
        apiKeys = Map::of;
    }

    private Authenticator(AuthConfig config, boolean clientCertificates) {
        this.clientCertificates = clientCertificates;
        enabled = true;
        groupsClaim = config.groupsClaim();
        config.jwtPublicKey().ifPresent(path -> {
            WatchedFile<JwtConsumer> file = new WatchedFile<>(
                    path,
                    text -> consumer(config).setVerificationKey(publicKey(text)).build());
            verifiers.add(file::get);
        });
        config.jwks().ifPresent(path -> {
            WatchedFile<JwtConsumer> file = new WatchedFile<>(
                    path,
                    text -> consumer(config)
                            .setVerificationKeyResolver(
                                    new JwksVerificationKeyResolver(new JsonWebKeySet(text).getJsonWebKeys()))
                            .build());
            verifiers.add(file::get);
        });
        apiKeys = config.apiKeys()
                .<Supplier<Map<String, Caller>>>map(path -> new WatchedFile<>(path, Authenticator::apiKeys)::get)
                .orElse(Map::of);
        if (verifiers.isEmpty() && config.apiKeys().isEmpty()) {
            throw new IllegalStateException(
                    "auth is enabled but none of auth.jwt-public-key, auth.jwks or auth.api-keys is set");
        }
    }

    /** Token checks only (no client-certificate requirement); {@link #OFF} when disabled. */
    static Authenticator of(AuthConfig config) {
        return config.enabled() ? new Authenticator(config, false) : OFF;
    }

    /** The checks of a service's {@code auth.*} and {@code tls.client-auth} settings. */
    public static Authenticator of(EndpointSecurityConfig config) {
        boolean certificates = switch (config.tls().clientAuth().toLowerCase(Locale.ROOT)) {
            case "required" -> true;
            case "none" -> false;
            default ->
                throw new IllegalStateException(
                        "tls.client-auth is '" + config.tls().clientAuth() + "': expected none or required");
        };
        return config.auth().enabled()
                ? new Authenticator(config.auth(), certificates)
                : new Authenticator(certificates);
    }

    /** Whether tokens are checked. */
    public boolean enabled() {
        return enabled;
    }

    /** Whether HTTPS requests must come with a client certificate (the handshake has checked it). */
    public boolean requiresClientCertificate() {
        return clientCertificates;
    }

    /**
     * The caller of an endpoint that needs {@code group}, from the value of its {@code authorization}
     * header (null when absent).
     *
     * @param endpoint what is called, for the messages (a gRPC method or an HTTP path)
     * @throws AccessDeniedException without a valid token, or when the token lacks the group
     */
    public Caller authorize(String authorization, Group group, String endpoint) throws AccessDeniedException {
        if (!enabled) {
            return Caller.ANONYMOUS;
        }
        String token = bearer(authorization);
        if (token == null) {
            throw new AccessDeniedException(
                    false,
                    endpoint + " needs a token with group '" + group.id() + "': send 'authorization: Bearer <token>'");
        }
        Caller caller = identify(token);
        if (!caller.groups().contains(group.id())) {
            throw new AccessDeniedException(
                    true,
                    endpoint + " needs group '" + group.id() + "'; " + caller.name() + " has "
                            + new TreeSet<>(caller.groups()));
        }
        return caller;
    }

    private Caller identify(String token) throws AccessDeniedException {
        Caller key = apiKeys.get().get(sha256(token));
        if (key != null) {
            return key;
        }
        if (verifiers.isEmpty() || token.chars().filter(c -> c == '.').count() != 2) {
            throw new AccessDeniedException(
                    false, "the token is not a known API key" + (verifiers.isEmpty() ? "" : " or a JWT"));
        }
        InvalidJwtException first = null;
        for (Supplier<JwtConsumer> verifier : verifiers) {
            try {
                JwtClaims claims = verifier.get().processToClaims(token);
                String subject = claims.getSubject();
                return new Caller(subject == null ? "the token" : "'" + subject + "'", groups(claims));
            } catch (InvalidJwtException e) {
                if (first == null || first.hasErrorCode(ErrorCodes.SIGNATURE_INVALID)) {
                    first = e;
                }
            } catch (MalformedClaimException e) {
                throw new AccessDeniedException(false, "the token's claims are malformed: " + e.getMessage());
            }
        }
        throw new AccessDeniedException(false, "the token is not valid: " + reason(first));
    }

    private Set<String> groups(JwtClaims claims) {
        Object value = claims.getClaimValue(groupsClaim);
        Set<String> groups = new LinkedHashSet<>();
        if (value instanceof List<?> list) {
            list.forEach(g -> groups.add(String.valueOf(g)));
        } else if (value instanceof String s) {
            groups.addAll(Arrays.asList(s.trim().split("[\\s,]+")));
        }
        groups.remove("");
        return Set.copyOf(groups);
    }

    private static String reason(InvalidJwtException e) {
        try {
            if (e.hasExpired()) {
                return "it expired at "
                        + Instant.ofEpochSecond(e.getJwtContext()
                                .getJwtClaims()
                                .getExpirationTime()
                                .getValue());
            }
        } catch (MalformedClaimException | RuntimeException ignored) {
            return "it has expired";
        }
        if (e.hasErrorCode(ErrorCodes.SIGNATURE_INVALID) || e.hasErrorCode(ErrorCodes.SIGNATURE_MISSING)) {
            return "its signature does not verify with the configured keys";
        }
        if (e.hasErrorCode(ErrorCodes.EXPIRATION_MISSING)) {
            return "it has no exp claim";
        }
        if (e.hasErrorCode(ErrorCodes.ISSUER_INVALID) || e.hasErrorCode(ErrorCodes.ISSUER_MISSING)) {
            return "its issuer is not the configured one";
        }
        if (e.hasErrorCode(ErrorCodes.AUDIENCE_INVALID) || e.hasErrorCode(ErrorCodes.AUDIENCE_MISSING)) {
            return "its audience is not the configured one";
        }
        if (e.hasErrorCode(ErrorCodes.NOT_YET_VALID)) {
            return "it is not valid yet (nbf)";
        }
        return e.getErrorDetails().isEmpty()
                ? "it does not parse"
                : e.getErrorDetails().get(0).getErrorMessage();
    }

    private static JwtConsumerBuilder consumer(AuthConfig config) {
        JwtConsumerBuilder b = new JwtConsumerBuilder()
                .setRequireExpirationTime()
                .setAllowedClockSkewInSeconds(config.clockSkewSeconds())
                .setJwsAlgorithmConstraints(SIGNATURES);
        config.issuer().ifPresent(b::setExpectedIssuer);
        if (config.audience().isPresent()) {
            b.setExpectedAudience(config.audience().get());
        } else {
            b.setSkipDefaultAudienceValidation();
        }
        return b;
    }

    /** An RSA or EC public key from PEM ({@code BEGIN PUBLIC KEY}, X.509 SubjectPublicKeyInfo). */
    static PublicKey publicKey(String pem) throws Exception {
        String body = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
        X509EncodedKeySpec spec = new X509EncodedKeySpec(Base64.getDecoder().decode(body));
        try {
            return KeyFactory.getInstance("RSA").generatePublic(spec);
        } catch (Exception notRsa) {
            return KeyFactory.getInstance("EC").generatePublic(spec);
        }
    }

    /** The API-key file: {@code <name> <sha256 hex> <group>[,<group>...]} per line. */
    static Map<String, Caller> apiKeys(String text) {
        Map<String, Caller> keys = new HashMap<>();
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].replaceAll("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\\s+");
            if (parts.length != 3 || !parts[1].matches("[0-9a-fA-F]{64}")) {
                throw new IllegalArgumentException("line " + (i + 1)
                        + ": expected '<name> <sha256 of the key, 64 hex digits> <group>[,<group>...]'");
            }
            keys.put(
                    parts[1].toLowerCase(Locale.ROOT),
                    new Caller("API key '" + parts[0] + "'", Set.of(parts[2].split(","))));
        }
        return Map.copyOf(keys);
    }

    private static String bearer(String authorization) {
        if (authorization == null) {
            return null;
        }
        String value = authorization.trim();
        if (value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            value = value.substring(7).trim();
            return value.isEmpty() ? null : value;
        }
        return null;
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
