package io.streamvision.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;

/** An RSA signing key made for one test run, and the JWTs it signs. */
public final class TestTokens {

    private final RsaJsonWebKey key;
    private final String issuer;

    private TestTokens(RsaJsonWebKey key, String issuer) {
        this.key = key;
        this.issuer = issuer;
    }

    /** A new key whose tokens carry {@code iss = issuer}. */
    public static TestTokens issuer(String issuer) {
        try {
            RsaJsonWebKey key = RsaJwkGenerator.generateJwk(2048);
            key.setKeyId("test-" + Long.toHexString(System.nanoTime()));
            return new TestTokens(key, issuer);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same key, signing tokens with another issuer. */
    public TestTokens withIssuer(String other) {
        return new TestTokens(key, other);
    }

    /** Writes the public key as PEM ({@code BEGIN PUBLIC KEY}). */
    public Path writePublicKey(Path file) throws Exception {
        Files.writeString(file, TestPki.pem("PUBLIC KEY", key.getPublicKey().getEncoded()));
        return file;
    }

    /** Writes the public key as a JWKS file. */
    public Path writeJwks(Path file) throws Exception {
        Files.writeString(file, "{\"keys\": [" + key.toJson() + "]}");
        return file;
    }

    /** A token for {@code subject} with these groups, valid until {@code expires}. */
    public String token(String subject, List<String> groups, Instant expires) {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(issuer);
        claims.setSubject(subject);
        claims.setIssuedAtToNow();
        claims.setExpirationTime(NumericDate.fromSeconds(expires.getEpochSecond()));
        claims.setStringListClaim("groups", groups);
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setKey(key.getPrivateKey());
        jws.setKeyIdHeaderValue(key.getKeyId());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        try {
            return jws.getCompactSerialization();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A token valid for an hour. */
    public String token(String subject, String... groups) {
        return token(subject, List.of(groups), Instant.now().plusSeconds(3600));
    }
}
