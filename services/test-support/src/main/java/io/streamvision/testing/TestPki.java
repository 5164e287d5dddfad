package io.streamvision.testing;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made for one test run and written as PEM files: a CA, a server certificate for
 * {@code localhost} and {@code 127.0.0.1} and a client certificate it signed, and a second,
 * unrelated CA with its own client certificate (the "wrong CA" of the handshake tests).
 */
public final class TestPki {

    /** A certificate, its private key and their PEM files. */
    public record Identity(X509Certificate certificate, KeyPair keys, Path certFile, Path keyFile) {}

    private static final SecureRandom RANDOM = new SecureRandom();

    public final Path dir;
    public final Identity ca;
    public final Identity server;
    public final Identity client;
    public final Identity otherCa;
    public final Identity otherClient;

    private TestPki(Path dir) throws Exception {
        this.dir = dir;
        ca = issue("ca", "CN=streamvision test CA", null, true);
        server = issue("server", "CN=localhost", ca, false);
        client = issue("client", "CN=test-client", ca, false);
        otherCa = issue("other-ca", "CN=another CA", null, true);
        otherClient = issue("other-client", "CN=stranger", otherCa, false);
    }

    /** Makes the certificates and writes them under {@code dir}. */
    public static TestPki create(Path dir) {
        try {
            Files.createDirectories(dir);
            return new TestPki(dir);
        } catch (Exception e) {
            throw new IllegalStateException("cannot make test certificates", e);
        }
    }

    /**
     * The Quarkus properties that serve HTTPS and gRPC over TLS with this server certificate and
     * require client certificates of this CA on both (as the README's Security section shows). The
     * TLS configuration is a named one, {@code server}: the default one would also turn the
     * management interface (health, metrics) to HTTPS.
     */
    public Map<String, String> mutualTlsServer(String service) {
        return Map.of(
                "quarkus.tls.server.key-store.pem.0.cert",
                server.certFile().toString(),
                "quarkus.tls.server.key-store.pem.0.key",
                server.keyFile().toString(),
                "quarkus.tls.server.trust-store.pem.certs",
                ca.certFile().toString(),
                "quarkus.http.tls-configuration-name",
                "server",
                "quarkus.http.insecure-requests",
                "disabled",
                "quarkus.grpc.server.plain-text",
                "false",
                "vision." + service + ".tls.client-auth",
                "required");
    }

    /**
     * A client TLS context that trusts {@code trusted}'s certificate and presents {@code identity}
     * (none when null).
     */
    public SSLContext sslContext(Identity trusted, Identity identity) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", trusted.certificate());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (identity != null) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry(
                        "me", identity.keys().getPrivate(), new char[0], new Certificate[] {identity.certificate()});
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), RANDOM);
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Identity issue(String name, String subject, Identity issuer, boolean isCa) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048, RANDOM);
        KeyPair keys = generator.generateKeyPair();
        Instant now = Instant.now();
        X500Name subjectName = new X500Name(subject);
        X500Name issuerName = issuer == null
                ? subjectName
                : new X500Name(issuer.certificate().getSubjectX500Principal().getName());
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                issuerName,
                new BigInteger(64, RANDOM),
                Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(2))),
                subjectName,
                keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (isCa) {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            builder.addExtension(
                    Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
                KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
            }));
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(
                        GeneralName.iPAddress, InetAddress.getLoopbackAddress().getHostAddress())
            }));
        }
        KeyPair signer = issuer == null ? keys : issuer.keys();
        X509Certificate certificate = new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(signer.getPrivate())));
        Path certFile = dir.resolve(name + ".crt");
        Path keyFile = dir.resolve(name + ".key");
        Files.writeString(certFile, pem("CERTIFICATE", certificate.getEncoded()));
        Files.writeString(keyFile, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        return new Identity(certificate, keys, certFile, keyFile);
    }

    /** PEM text of DER bytes (a certificate, a PKCS#8 private key or an X.509 public key). */
    public static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
