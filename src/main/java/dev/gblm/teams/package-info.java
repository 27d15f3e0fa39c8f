/**
 * Teams on a secured cluster: which principal may do what, as data ({@link dev.gblm.teams.AclRule},
 * {@link dev.gblm.teams.AclSet}: {@link dev.gblm.teams.TeamAcls} per team, {@link dev.gblm.teams.ServiceAcls} per
 * service principal), and its two edges: {@link dev.gblm.teams.AclApplier} (Kafka Admin API: ACLs, quotas, the team's
 * job topic) and {@link dev.gblm.teams.KafkaUserRenderer} (Strimzi {@code KafkaUser}). The model classes import no
 * Kafka client code, so the rules, the rendered YAML and the ACL table of docs/security.md come from one source.
 */
package dev.gblm.teams;
