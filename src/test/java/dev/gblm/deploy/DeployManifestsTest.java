package dev.gblm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.gblm.stream.topics.StrimziRenderer;
import dev.gblm.stream.topics.TopicCatalog;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple;
import io.strimzi.api.kafka.model.user.acl.AclRule;
import io.strimzi.api.kafka.model.user.acl.AclRuleGroupResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTransactionalIdResource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Parses every manifest under deploy/ strictly into typed models: fabric8's Kubernetes model (core, apps,
 * monitoring.coreos.com), Strimzi's API classes (KafkaTopic, KafkaUser in kafka.strimzi.io/v1) and
 * {@link MinimalModels} (KEDA, kustomize). Unknown fields fail, even in classes that would keep them in an
 * {@code additionalProperties} map (fabric8 and Strimzi do): a misspelt field fails the build. Then checks that the
 * manifests agree with each other and with the code (flags, ports, groups, ACLs).
 */
class DeployManifestsTest {
    static final Path DEPLOY = Path.of("deploy");
    static final String STRIMZI = "kafka.strimzi.io/v1";

    /** YAML mapper that rejects unknown fields everywhere, any-setters and ignoreUnknown included. */
    static final ObjectMapper STRICT = strictMapper();

    static List<Doc> docs;

    record Doc(Path file, int index, String apiVersion, String kind, Object model) {
        String name() {
            return model instanceof HasMetadata h ? h.getMetadata().getName()
                    : model instanceof MinimalModels.ScaledObject s ? s.metadata().getName()
                    : model instanceof MinimalModels.TriggerAuthentication t ? t.metadata().getName() : file.toString();
        }
    }

    /**
     * Properties Strimzi's Java model still has but the kafka.strimzi.io/v1 CRD does not (their getters carry
     * {@code @PresentInVersions("v1alpha1-v1beta2")}, an annotation not on the classpath, hence this list; checked by
     * {@link #theListOfFieldsMissingInStrimziV1IsComplete}).
     */
    static final Map<Class<?>, Set<String>> NOT_IN_STRIMZI_V1 = Map.of(AclRule.class, Set.of("operation"));

    static ObjectMapper strictMapper() {
        SimpleModule strict = new SimpleModule("strict");
        strict.setDeserializerModifier(new BeanDeserializerModifier() {
            @Override
            public List<BeanPropertyDefinition> updateProperties(DeserializationConfig config, BeanDescription beanDesc,
                    List<BeanPropertyDefinition> props) {
                Set<String> removed = NOT_IN_STRIMZI_V1.getOrDefault(beanDesc.getBeanClass(), Set.of());
                // "additionalProperties" is the any-setter's map, not a field of the resource
                return props.stream().filter(p -> !removed.contains(p.getName()) && !p.getName().equals("additionalProperties"))
                        .toList();
            }

            @Override
            public BeanDeserializerBuilder updateBuilder(DeserializationConfig config, BeanDescription beanDesc,
                    BeanDeserializerBuilder builder) {
                builder.setAnySetter(null); // additionalProperties would swallow a misspelt field
                builder.setIgnoreUnknownProperties(false);
                return builder;
            }
        });
        return YAMLMapper.builder(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
                .addModule(strict)
                .build();
    }

    static Class<?> typeOf(String apiVersion, String kind) {
        return switch (apiVersion + "/" + kind) {
            case "v1/ConfigMap" -> ConfigMap.class;
            case "v1/Secret" -> Secret.class;
            case "v1/Service" -> Service.class;
            case "v1/PersistentVolumeClaim" -> PersistentVolumeClaim.class;
            case "apps/v1/Deployment" -> Deployment.class;
            case "apps/v1/StatefulSet" -> StatefulSet.class;
            case "monitoring.coreos.com/v1/PodMonitor" -> PodMonitor.class;
            case STRIMZI + "/KafkaTopic" -> KafkaTopic.class;
            case STRIMZI + "/KafkaUser" -> KafkaUser.class;
            case MinimalModels.KEDA + "/ScaledObject" -> MinimalModels.ScaledObject.class;
            case MinimalModels.KEDA + "/TriggerAuthentication" -> MinimalModels.TriggerAuthentication.class;
            case MinimalModels.KUSTOMIZE + "/Kustomization" -> MinimalModels.Kustomization.class;
            default -> throw new AssertionError("no typed model for apiVersion " + apiVersion + ", kind " + kind
                    + " (an old API version, a typo, or a new kind: add it to typeOf)");
        };
    }

    /** Every YAML document of {@code file}, parsed into its typed model. */
    static List<Doc> parse(Path file, String yaml) throws IOException {
        List<Doc> out = new ArrayList<>();
        int i = 0;
        try (var it = STRICT.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
            while (it.hasNext()) {
                JsonNode node = it.next();
                i++;
                if (node == null || node.isNull() || node.isMissingNode()) {
                    continue;
                }
                assertThat(node.isObject()).as("%s document %d is a mapping", file, i).isTrue();
                String apiVersion = node.path("apiVersion").asText(null);
                String kind = node.path("kind").asText(null);
                assertThat(apiVersion).as("%s document %d: apiVersion", file, i).isNotBlank();
                assertThat(kind).as("%s document %d: kind", file, i).isNotBlank();
                Object model;
                try {
                    model = STRICT.treeToValue(node, typeOf(apiVersion, kind));
                } catch (IOException e) {
                    throw new AssertionError(file + " document " + i + " (" + kind + "): " + e.getMessage(), e);
                }
                if (model instanceof KafkaUser u) {
                    checkAcls(file + " document " + i, u);
                }
                out.add(new Doc(file, i, apiVersion, kind, model));
            }
        }
        return out;
    }

    /** Strimzi maps an unknown enum value (an ACL operation, a pattern type) to null instead of failing. */
    static void checkAcls(String where, KafkaUser u) {
        if (u.getSpec().getAuthorization() instanceof KafkaUserAuthorizationSimple simple) {
            for (AclRule r : simple.getAcls()) {
                assertThat(r.getResource()).as("%s: ACL resource", where).isNotNull();
                assertThat(r.getOperations()).as("%s: ACL operations (an unknown one reads as null)", where)
                        .isNotEmpty().doesNotContainNull();
                Object pattern = r.getResource() instanceof AclRuleTopicResource t ? t.getPatternType()
                        : r.getResource() instanceof AclRuleGroupResource g ? g.getPatternType()
                        : r.getResource() instanceof AclRuleTransactionalIdResource x ? x.getPatternType() : "n/a";
                assertThat(pattern).as("%s: ACL patternType", where).isNotNull();
            }
        }
    }

    static List<Path> manifestFiles() throws IOException {
        try (Stream<Path> s = Files.walk(DEPLOY)) {
            // Kubernetes and Strimzi resources; deploy/prometheus, deploy/grafana and deploy/compose hold the
            // monitoring stack's own configs, checked by promtool and the monitoring tests instead
            return s.filter(p -> p.startsWith(DEPLOY.resolve("k8s")) || p.startsWith(DEPLOY.resolve("strimzi")))
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
    }

    @BeforeAll
    static void parseAll() throws IOException {
        docs = new ArrayList<>();
        for (Path f : manifestFiles()) {
            docs.addAll(parse(f, Files.readString(f)));
        }
    }

    static <T> List<T> all(Class<T> type) {
        return docs.stream().map(Doc::model).filter(type::isInstance).map(type::cast).toList();
    }

    static <T extends HasMetadata> T named(Class<T> type, String name) {
        return all(type).stream().filter(r -> r.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name));
    }

    // ------------------------------------------------------------------------------------------------- parsing

    @Test
    void everyManifestParsesIntoItsTypedModel() throws IOException {
        assertThat(manifestFiles()).contains(DEPLOY.resolve("strimzi/topics.yaml"), DEPLOY.resolve("k8s/kustomization.yaml"),
                DEPLOY.resolve("k8s/worker.yaml"), DEPLOY.resolve("k8s/finalizer.yaml"), DEPLOY.resolve("k8s/exporter.yaml"));
        assertThat(docs).extracting(Doc::kind).contains("Deployment", "StatefulSet", "ScaledObject", "TriggerAuthentication",
                "PodMonitor", "KafkaTopic", "KafkaUser", "ConfigMap", "Secret", "PersistentVolumeClaim", "Kustomization");
        // no two resources of a kind share a name
        Set<String> seen = new HashSet<>();
        for (Doc d : docs) {
            assertThat(seen.add(d.kind() + "/" + d.name())).as("duplicate %s %s (%s)", d.kind(), d.name(), d.file()).isTrue();
        }
    }

    @Test
    void aMisspeltFieldFailsInEveryKindOfModel() {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("fabric8 core", """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: x}
                data: {a: b}
                immutible: true
                """);
        bad.put("fabric8 apps, nested", """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  template:
                    metadata: {labels: {a: b}}
                    spec:
                      containers:
                        - name: c
                          image: i
                          livenessProbe: {httpGet: {path: /health, port: 9400}, periodSecond: 10}
                """);
        bad.put("monitoring.coreos.com", """
                apiVersion: monitoring.coreos.com/v1
                kind: PodMonitor
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  podMetricsEndpoints: [{port: metrics, pth: /metrics}]
                """);
        bad.put("Strimzi KafkaTopic", """
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaTopic
                metadata: {name: x}
                spec: {topicName: x, partitions: 1, replica: 3}
                """);
        bad.put("Strimzi KafkaUser acl (v1 has no `operation`)", """
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaUser
                metadata: {name: x}
                spec:
                  authentication: {type: scram-sha-512}
                  authorization:
                    type: simple
                    acls: [{resource: {type: topic, name: a, patternType: literal}, operation: Read}]
                """);
        bad.put("Strimzi KafkaUser acl operation", """
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaUser
                metadata: {name: x}
                spec:
                  authentication: {type: scram-sha-512}
                  authorization:
                    type: simple
                    acls: [{resource: {type: topic, name: a, patternType: literal}, operations: [Reed]}]
                """);
        bad.put("Strimzi KafkaUser acl resource type", """
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaUser
                metadata: {name: x}
                spec:
                  authentication: {type: scram-sha-512}
                  authorization:
                    type: simple
                    acls: [{resource: {type: topik, name: a, patternType: literal}, operations: [Read]}]
                """);
        bad.put("Strimzi: the any-setter's map is no field", """
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaTopic
                metadata: {name: x}
                spec: {topicName: x, partitions: 1, replicas: 3, additionalProperties: {a: 1}}
                """);
        bad.put("KEDA", """
                apiVersion: keda.sh/v1alpha1
                kind: ScaledObject
                metadata: {name: x}
                spec: {scaleTargetRef: {name: x}, minReplicas: 1, triggers: []}
                """);
        bad.put("old Strimzi API", """
                apiVersion: kafka.strimzi.io/v1beta2
                kind: KafkaTopic
                metadata: {name: x}
                spec: {topicName: x, partitions: 1, replicas: 3}
                """);
        List<String> accepted = new ArrayList<>();
        bad.forEach((what, yaml) -> {
            try {
                parse(Path.of(what), yaml);
                accepted.add(what);
            } catch (AssertionError | IOException expected) {
                // rejected, as it should be
            }
        });
        assertThat(accepted).as("misspelt documents that parsed").isEmpty();
    }

    @Test
    void correctDocumentsParseAndKeepTheirValues() throws IOException {
        List<Doc> ok = parse(Path.of("ok"), """
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaUser
                metadata: {name: x}
                spec:
                  authentication: {type: scram-sha-512}
                  authorization:
                    type: simple
                    acls: [{resource: {type: topic, name: a, patternType: prefix}, operations: [Read, Describe]}]
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  template:
                    metadata: {labels: {a: b}}
                    spec:
                      containers:
                        - name: c
                          image: i
                          livenessProbe: {httpGet: {path: /health, port: metrics}, periodSeconds: 10}
                """);
        KafkaUser u = (KafkaUser) ok.get(0).model();
        AclRule rule = ((KafkaUserAuthorizationSimple) u.getSpec().getAuthorization()).getAcls().get(0);
        assertThat(rule.getOperations()).hasSize(2);
        assertThat(((AclRuleTopicResource) rule.getResource()).getName()).isEqualTo("a");
        Deployment d = (Deployment) ok.get(1).model();
        assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getLivenessProbe().getPeriodSeconds()).isEqualTo(10);
    }

    // ------------------------------------------------------------------------------------------------- Strimzi

    @Test
    void kafkaTopicsUseTheV1ApiAndValidUniqueNames() throws IOException {
        List<KafkaTopic> topics = all(KafkaTopic.class);
        TopicCatalog catalog = TopicCatalog.load(Path.of("topics"));
        assertThat(topics).extracting(t -> t.getSpec().getTopicName())
                .containsExactlyInAnyOrderElementsOf(catalog.concrete().stream().map(t -> t.name()).toList());
        for (KafkaTopic t : topics) {
            assertThat(t.getApiVersion()).isEqualTo(STRIMZI);
            assertThat(StrimziRenderer.isDnsSubdomain(t.getMetadata().getName())).as(t.getMetadata().getName()).isTrue();
            assertThat(t.getMetadata().getLabels()).containsEntry("strimzi.io/cluster", "gblm");
            assertThat(t.getSpec().getPartitions()).isPositive();
        }
        // a rendered calibration topic parses too, also with a name that needs mapping
        String rendered = StrimziRenderer.render(catalog, "gblm", List.of("team-a", "Team_A"));
        List<Doc> parsed = parse(Path.of("rendered"), rendered);
        assertThat(parsed).extracting(Doc::name).doesNotHaveDuplicates().hasSize(catalog.concrete().size() + 2);
    }

    /** Topic names of the table "Topics, keys, records" in docs/architecture.md. */
    static Set<String> architectureTopics() throws IOException {
        Set<String> out = new HashSet<>();
        Matcher m = Pattern.compile("(?m)^\\| `([a-z0-9._<>-]+)` \\[").matcher(Files.readString(Path.of("docs/architecture.md")));
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    static Map<String, Set<String>> acls(String user, String type) {
        KafkaUser u = named(KafkaUser.class, user);
        assertThat(u.getApiVersion()).isEqualTo(STRIMZI);
        assertThat(u.getMetadata().getLabels()).containsEntry("strimzi.io/cluster", "gblm");
        Map<String, Set<String>> out = new LinkedHashMap<>();
        for (AclRule r : ((KafkaUserAuthorizationSimple) u.getSpec().getAuthorization()).getAcls()) {
            String key = null;
            if (r.getResource() instanceof AclRuleTopicResource t && type.equals("topic")) {
                key = t.getPatternType().toValue() + ":" + t.getName();
            } else if (r.getResource() instanceof AclRuleGroupResource g && type.equals("group")) {
                key = g.getPatternType().toValue() + ":" + g.getName();
            } else if (r.getResource() instanceof AclRuleTransactionalIdResource x && type.equals("transactionalId")) {
                key = x.getPatternType().toValue() + ":" + x.getName();
            }
            if (key != null) {
                out.computeIfAbsent(key, k -> new HashSet<>()).addAll(r.getOperations().stream().map(o -> o.toValue()).toList());
            }
        }
        return out;
    }

    @Test
    void kafkaUsersGrantWhatEachServiceReadsAndWrites() throws IOException {
        Set<String> known = new HashSet<>(architectureTopics());
        assertThat(known).contains("gblm.stats", "gblm.masks", "calib.<stream>");
        TopicCatalog.load(Path.of("topics")).concrete().forEach(t -> known.add(t.name()));
        for (KafkaUser u : all(KafkaUser.class)) {
            for (String key : acls(u.getMetadata().getName(), "topic").keySet()) {
                if (key.startsWith("literal:")) {
                    assertThat(known).as("%s: ACL on an unknown topic %s", u.getMetadata().getName(), key).contains(key.substring(8));
                }
            }
        }
        Map<String, Set<String>> worker = acls("gblm-worker", "topic");
        assertThat(worker.get("prefix:calib.")).contains("Read", "Describe");
        for (String t : List.of("gblm.stats", "gblm.slices", "gblm.dlq")) {
            assertThat(worker.get("literal:" + t)).as("worker writes %s", t).contains("Write");
        }
        assertThat(worker.keySet()).noneMatch(k -> k.contains("gblm.masks") || k.contains("gblm.jobs"));
        assertThat(acls("gblm-worker", "group").get("prefix:gblm-worker")).contains("Read");
        assertThat(acls("gblm-worker", "transactionalId").get("prefix:gblm-worker-")).contains("Write");

        Map<String, Set<String>> fin = acls("gblm-finalizer", "topic");
        for (String t : List.of("gblm.jobs", "gblm.slices", "gblm.stats", "gblm.finalize", "gblm.finalize-acks")) {
            assertThat(fin.get("literal:" + t)).as("finalizer reads %s", t).contains("Read");
        }
        for (String t : List.of("gblm.epochs", "gblm.finalize", "gblm.finalize-acks", "gblm.masks", "gblm.dlq")) {
            assertThat(fin.get("literal:" + t)).as("finalizer writes %s", t).contains("Write");
        }
        assertThat(fin.get("prefix:gblm-finalizer-")).contains("Create", "Read", "Write");
        assertThat(fin.get("prefix:gblm.jobs.")).as("every team job topic").contains("Read");
        assertThat(acls("gblm-finalizer", "group").get("literal:gblm-finalizer")).contains("Read");
        assertThat(acls("gblm-finalizer", "transactionalId").get("prefix:gblm-finalizer-")).contains("Write");

        Map<String, Set<String>> exp = acls("gblm-exporter", "topic");
        assertThat(exp.get("literal:gblm.epochs")).contains("Read");
        assertThat(exp.get("literal:gblm.masks")).contains("Read");
        assertThat(exp.get("literal:gblm.models")).contains("Read", "Write");
        assertThat(exp.get("literal:gblm.dlq")).contains("Write");
        assertThat(exp.keySet()).noneMatch(k -> k.contains("gblm.stats") || k.contains("calib"));
        assertThat(acls("gblm-exporter", "group").get("literal:gblm-exporter")).contains("Read");
        assertThat(acls("gblm-exporter", "transactionalId").get("literal:gblm-exporter-gblm-exporter")).contains("Write");
    }

    // ------------------------------------------------------------------------------------------------- workloads

    record Workload(String name, String command, PodTemplateSpec template, List<PersistentVolumeClaim> claimTemplates) {
        Container container() {
            assertThat(template.getSpec().getContainers()).as(name).hasSize(1);
            return template.getSpec().getContainers().get(0);
        }

        Optional<String> flag(String flag) {
            return container().getArgs().stream().filter(a -> a.startsWith(flag + "=")).map(a -> a.substring(flag.length() + 1))
                    .findFirst();
        }

        String mountedVolume(String path) {
            return container().getVolumeMounts().stream().filter(m -> path.startsWith(m.getMountPath()))
                    .map(VolumeMount::getName).findFirst().orElseThrow(() -> new AssertionError(name + ": nothing mounted at " + path));
        }

        Volume volume(String name) {
            return template.getSpec().getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst().orElse(null);
        }
    }

    static List<Workload> workloads() {
        List<Workload> out = new ArrayList<>();
        for (Deployment d : all(Deployment.class)) {
            out.add(new Workload(d.getMetadata().getName(), d.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().get(0),
                    d.getSpec().getTemplate(), List.of()));
        }
        for (StatefulSet s : all(StatefulSet.class)) {
            out.add(new Workload(s.getMetadata().getName(), s.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().get(0),
                    s.getSpec().getTemplate(), s.getSpec().getVolumeClaimTemplates()));
        }
        return out;
    }

    static Workload workload(String command) {
        return workloads().stream().filter(w -> w.command().equals(command)).findFirst()
                .orElseThrow(() -> new AssertionError("no workload runs `gblm " + command + "`"));
    }

    @Test
    void everyServiceExposesHealthAndMetricsAndReadsItsKafkaConfigFromASecret() {
        assertThat(workloads()).extracting(Workload::command).containsExactlyInAnyOrder("worker", "finalizer", "exporter");
        Set<String> users = new HashSet<>(all(KafkaUser.class).stream().map(u -> u.getMetadata().getName()).toList());
        for (Workload w : workloads()) {
            Container c = w.container();
            ContainerPort metrics = c.getPorts().stream().filter(p -> "metrics".equals(p.getName())).findFirst()
                    .orElseThrow(() -> new AssertionError(w.name() + ": no port named metrics"));
            assertThat(w.flag("--metrics-port")).as(w.name()).contains(String.valueOf(metrics.getContainerPort()));
            assertThat(w.flag("--metrics-host")).as(w.name() + ": probes and scrapes come from outside the pod").contains("0.0.0.0");
            for (Probe p : new Probe[] {c.getLivenessProbe(), c.getReadinessProbe()}) {
                assertThat(p).as(w.name()).isNotNull();
                assertThat(p.getHttpGet().getPath()).isEqualTo("/health");
                Object port = p.getHttpGet().getPort().getStrVal() != null ? p.getHttpGet().getPort().getStrVal()
                        : p.getHttpGet().getPort().getIntVal();
                assertThat(port).as(w.name()).isIn("metrics", metrics.getContainerPort());
            }
            String config = w.flag("--kafka-config").orElseThrow(() -> new AssertionError(w.name() + ": no --kafka-config"));
            Volume v = w.volume(w.mountedVolume(config));
            assertThat(v.getSecret()).as(w.name() + ": --kafka-config comes from a Secret").isNotNull();
            Secret s = named(Secret.class, v.getSecret().getSecretName());
            String file = config.substring(config.lastIndexOf('/') + 1);
            assertThat(s.getStringData()).as(w.name()).containsKey(file);
            String jaasFrom = c.getEnv().stream().filter(e -> e.getName().equals("GBLM_KAFKA_SASL_JAAS_CONFIG"))
                    .map(e -> e.getValueFrom().getSecretKeyRef().getName()).findFirst().orElseThrow();
            assertThat(users).as(w.name() + ": credentials of a KafkaUser").contains(jaasFrom);
            assertThat(jaasFrom).isEqualTo("gblm-" + w.command());
            assertThat(c.getEnvFrom()).anyMatch(e -> e.getConfigMapRef() != null
                    && all(ConfigMap.class).stream().anyMatch(m -> m.getMetadata().getName().equals(e.getConfigMapRef().getName())));
            // every PVC a pod uses exists (or is a claim template)
            for (Volume vol : w.template().getSpec().getVolumes()) {
                if (vol.getPersistentVolumeClaim() != null) {
                    named(PersistentVolumeClaim.class, vol.getPersistentVolumeClaim().getClaimName());
                }
            }
        }
    }

    @Test
    void finalizerStateAndExporterOutputLiveOnPersistentVolumes() {
        Workload fin = workload("finalizer");
        String stateDir = fin.flag("--state-dir").orElseThrow();
        String stateVolume = fin.mountedVolume(stateDir);
        assertThat(fin.claimTemplates()).extracting(t -> t.getMetadata().getName()).contains(stateVolume);
        StatefulSet sts = named(StatefulSet.class, fin.name());
        named(Service.class, sts.getSpec().getServiceName());
        assertThat(fin.flag("--application-id")).contains("gblm-finalizer");

        Workload exp = workload("exporter");
        Volume out = exp.volume(exp.mountedVolume(exp.flag("--out").orElseThrow()));
        assertThat(out.getPersistentVolumeClaim()).as("exporter --out on a PVC").isNotNull();
        Deployment d = named(Deployment.class, exp.name());
        assertThat(d.getSpec().getReplicas()).isEqualTo(1);
        assertThat(d.getSpec().getStrategy().getType()).isEqualTo("Recreate");
    }

    @Test
    void kedaScalesTheWorkersOnTheLagOfTheirExplicitConsumerGroup() {
        Workload worker = workload("worker");
        String group = worker.flag("--group").orElseThrow(() -> new AssertionError("the worker needs an explicit --group"));
        List<MinimalModels.ScaledObject> scaled = all(MinimalModels.ScaledObject.class);
        assertThat(scaled).hasSize(1);
        MinimalModels.ScaledObject so = scaled.get(0);
        assertThat(so.apiVersion()).isEqualTo(MinimalModels.KEDA);
        assertThat(so.spec().scaleTargetRef().name()).isEqualTo(worker.name());
        assertThat(named(Deployment.class, worker.name()).getSpec().getReplicas()).as("KEDA owns the replica count").isNull();
        assertThat(so.spec().minReplicaCount()).isPositive();
        assertThat(so.spec().maxReplicaCount()).isGreaterThanOrEqualTo(so.spec().minReplicaCount());
        MinimalModels.Trigger t = so.spec().triggers().get(0);
        assertThat(t.type()).isEqualTo("kafka");
        assertThat(MinimalModels.KAFKA_TRIGGER_KEYS).as("known kafka trigger keys").containsAll(t.metadata().keySet());
        assertThat(t.metadata()).containsEntry("consumerGroup", group).containsKey("bootstrapServers");
        assertThat(Integer.parseInt(t.metadata().get("lagThreshold"))).isPositive();
        if (t.metadata().containsKey("topic")) {
            assertThat(t.metadata().get("topic")).startsWith("calib.");
        }
        MinimalModels.TriggerAuthentication auth = all(MinimalModels.TriggerAuthentication.class).stream()
                .filter(a -> a.metadata().getName().equals(t.authenticationRef().name())).findFirst().orElseThrow();
        for (MinimalModels.EnvRef e : auth.spec().env()) {
            assertThat(worker.container().getEnv()).anyMatch(v -> v.getName().equals(e.name()));
        }
        assertThat(auth.spec().secretTargetRef()).extracting(MinimalModels.SecretTargetRef::parameter).contains("password");
    }

    @Test
    void podMonitorScrapesEveryService() {
        PodMonitor pm = all(PodMonitor.class).get(0);
        var endpoint = pm.getSpec().getPodMetricsEndpoints().get(0);
        assertThat(endpoint.getPath()).isEqualTo("/metrics");
        var expr = pm.getSpec().getSelector().getMatchExpressions().get(0);
        for (Workload w : workloads()) {
            Map<String, String> labels = w.template().getMetadata().getLabels();
            assertThat(expr.getOperator()).isEqualTo("In");
            assertThat(expr.getValues()).as(w.name()).contains(labels.get(expr.getKey()));
            assertThat(w.container().getPorts()).extracting(ContainerPort::getName).contains(endpoint.getPort());
        }
    }

    @Test
    void kustomizationListsEveryManifestOfItsFolder() throws IOException {
        MinimalModels.Kustomization k = all(MinimalModels.Kustomization.class).get(0);
        Path dir = DEPLOY.resolve("k8s");
        Set<String> files = new HashSet<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).forEach(files::add);
        }
        assertThat(k.resources()).containsExactlyInAnyOrderElementsOf(files);
        for (Workload w : workloads()) {
            assertThat(k.images()).extracting(MinimalModels.Image::name).contains(w.container().getImage());
        }
    }

    @Test
    void strictMapperRejectsAnUnknownFieldInsideAnAdditionalPropertiesClass() {
        ObjectNode n = (ObjectNode) STRICT.createObjectNode();
        n.put("apiVersion", "v1").put("kind", "Secret").putObject("metadata").put("name", "x").put("namespce", "y");
        assertThatThrownBy(() -> STRICT.treeToValue(n, Secret.class)).hasMessageContaining("namespce");
    }

    @Test
    void theListOfFieldsMissingInStrimziV1IsComplete() throws Exception {
        // Strimzi model classes of KafkaTopic and KafkaUser whose bytecode marks members as present in some API
        // versions only; a Strimzi upgrade that adds one fails here until NOT_IN_STRIMZI_V1 is reviewed.
        Set<String> marked = new HashSet<>();
        Path jar = Path.of(KafkaUser.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (JarFile jf = new JarFile(jar.toFile())) {
            for (var e : java.util.Collections.list(jf.entries())) {
                String n = e.getName();
                if ((n.startsWith("io/strimzi/api/kafka/model/user/") || n.startsWith("io/strimzi/api/kafka/model/topic/"))
                        && n.endsWith(".class")) {
                    String text = new String(jf.getInputStream(e).readAllBytes(), StandardCharsets.ISO_8859_1);
                    if (text.contains("crdgenerator/annotations/PresentInVersions")) {
                        marked.add(n.substring(0, n.length() - 6).replace('/', '.'));
                    }
                }
            }
        }
        assertThat(marked).containsExactlyInAnyOrderElementsOf(NOT_IN_STRIMZI_V1.keySet().stream().map(Class::getName).toList());
    }
}
