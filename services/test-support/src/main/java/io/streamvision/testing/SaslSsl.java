package io.streamvision.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Clients of {@link InJvmKraftBroker#startSaslSsl}: the connection settings of a SCRAM-SHA-512 user
 * or of the PLAIN super user, users made through the admin API, and ACLs.
 */
public final class SaslSsl {

    private SaslSsl() {}

    /** Client settings of a SCRAM-SHA-512 user (as the services take them under {@code kafka.*}). */
    public static Map<String, String> scram(TestPki pki, String user, String password) {
        return settings(
                pki, "SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule", user, password);
    }

    /** Client settings of the super user {@code admin}. */
    public static Map<String, String> admin(TestPki pki, String password) {
        return settings(pki, "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule", "admin", password);
    }

    private static Map<String, String> settings(
            TestPki pki, String mechanism, String module, String user, String password) {
        return Map.of(
                "security.protocol",
                "SASL_SSL",
                "sasl.mechanism",
                mechanism,
                "sasl.jaas.config",
                module + " required username=\"" + user + "\" password=\"" + password + "\";",
                "ssl.truststore.type",
                "PEM",
                "ssl.truststore.location",
                pki.ca.certFile().toString());
    }

    /** An admin client as the super user, once the broker answers (at most a minute). */
    public static Admin adminClient(String bootstrapServers, Map<String, String> adminSettings) throws Exception {
        Properties props = new Properties();
        props.putAll(adminSettings);
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        Admin admin = Admin.create(props);
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (true) {
            try {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                return admin;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    admin.close();
                    throw new IllegalStateException("the SASL_SSL broker did not answer: " + e.getMessage(), e);
                }
                Thread.sleep(200);
            }
        }
    }

    /** Creates (or updates) a SCRAM-SHA-512 user. */
    public static void createUser(Admin admin, String user, String password) throws Exception {
        admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                        user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password)))
                .all()
                .get(30, TimeUnit.SECONDS);
    }

    /** Allows {@code user} the operations on one resource (a literal name, or a prefix). */
    public static void allow(
            Admin admin, String user, ResourceType type, String name, PatternType pattern, AclOperation... operations)
            throws Exception {
        List<AclBinding> bindings = new ArrayList<>();
        for (AclOperation operation : operations) {
            bindings.add(new AclBinding(
                    new ResourcePattern(type, name, pattern),
                    new AccessControlEntry("User:" + user, "*", operation, AclPermissionType.ALLOW)));
        }
        admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS);
    }

    /** READ and DESCRIBE on the topics a name (or a prefix) names: what a consumer needs. */
    public static void allowRead(Admin admin, String user, String topic, PatternType pattern) throws Exception {
        allow(admin, user, ResourceType.TOPIC, topic, pattern, AclOperation.READ, AclOperation.DESCRIBE);
    }

    /** WRITE and DESCRIBE on the topics a name (or a prefix) names: what a producer needs. */
    public static void allowWrite(Admin admin, String user, String topic, PatternType pattern) throws Exception {
        allow(admin, user, ResourceType.TOPIC, topic, pattern, AclOperation.WRITE, AclOperation.DESCRIBE);
    }

    /** WRITE and DESCRIBE on transactional ids: what a transactional producer needs. */
    public static void allowTransactions(Admin admin, String user, String transactionalId, PatternType pattern)
            throws Exception {
        allow(
                admin,
                user,
                ResourceType.TRANSACTIONAL_ID,
                transactionalId,
                pattern,
                AclOperation.WRITE,
                AclOperation.DESCRIBE);
    }

    /** READ on consumer groups: what a member of the group needs. */
    public static void allowGroup(Admin admin, String user, String group, PatternType pattern) throws Exception {
        allow(admin, user, ResourceType.GROUP, group, pattern, AclOperation.READ);
    }
}
