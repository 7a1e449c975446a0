#pragma once
// Internal to render/: the state one render() call shares between module renderers, and the
// helpers every module uses (spec values with chart defaults, labels, pod plumbing, Services,
// data volumes, images). Not part of the public API (include/fatectl/render/render.h).
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::render::detail {

/// A path of keys into the spec (e.g. {"python", "spark", "master"}).
using Path = std::vector<std::string>;
/// `p` with `key` appended.
Path operator+(Path p, const std::string& key);

/// Everything a module renderer needs: the spec, the options, derived chart values and the
/// list of objects produced so far.
struct Ctx {
  const spec::ClusterSpec& spec;
  const RenderOptions& opts;
  std::string chart;        ///< "fate" or "fate-exchange" (the `cluster` label)
  std::string manifests;    ///< manifests/ folder of this generation, e.g. "fate/v1.11"
  std::string party_id;     ///< decimal text of partyId
  std::string party_name;   ///< `name`
  std::string ns;           ///< `namespace`
  std::string registry;     ///< image registry prefix (1.x: "federatedai" unless set)
  bool third_party = false; ///< registry given explicitly: prefix third-party images too
  std::string tag;          ///< image tag of FATE's own images
  bool v20 = false;         ///< chart fate v2.0 (per-module image/imageTag, osx)
  bool v16 = false;         ///< chart fate v1.6 (backend, Deployments, PVC objects, global imageTag)
  std::string prefix;       ///< v2.0: registry text prepended to image names as given (may be "")
  std::string pull_policy;
  bool persistence = false;
  bool psp = false;         ///< podSecurityPolicy.enabled
  bool istio = false;
  std::string computing, federation, storage, algorithm, device;
  std::vector<Object> out;

  Ctx(const spec::ClusterSpec& s, const RenderOptions& o);

  // ---- spec values ---------------------------------------------------------------------
  /// The node at `path` in the spec, or an invalid node when any key is missing.
  YAML::Node at(Path path) const;
  /// True when the value is missing, null or an empty string (Go templates' "empty").
  static bool empty(const YAML::Node& n);
  /// Text of a scalar at `path`, or `def` when empty.
  std::string str(Path path, const std::string& def = "") const;
  long num(Path path, long def) const;
  bool flag(Path path, bool def = false) const;
  /// A value the chart template copies without a default: when the parent map exists in the
  /// spec its value wins (even when empty), otherwise the chart's values.yaml default applies.
  std::string raw(Path path, const std::string& values_default) const;
  bool has_module(const std::string& m) const { return spec.has_module(m); }

  // ---- manifests -----------------------------------------------------------------------
  /// A deep copy of the document of `kind`/`name` in manifests/<file>.
  YAML::Node base(const std::string& file, const std::string& kind, const std::string& name) const;
  /// Sets liveness/readiness/startup probes of `ctr` ("tcp" or "http" shapes of
  /// manifests/common/probes.yaml) on `port`.
  void probes(YAML::Node ctr, const std::string& shape, int port) const;
  /// Text of manifests/<file>.
  std::string text(const std::string& file) const;

  // ---- object plumbing -----------------------------------------------------------------
  /// KubeFATE's labels (fateMoudle, name, partyId, owner, cluster, heritage, release, chart)
  /// plus app.kubernetes.io/managed-by and instance.
  YAML::Node labels(const std::string& fate_module) const;
  /// The selector labels: fateMoudle, name, partyId.
  YAML::Node match_labels(const std::string& fate_module) const;
  /// Sets metadata.namespace and labels, and appends to `out` under `module`.
  void add(const std::string& module, YAML::Node obj, const std::string& fate_module);
  /// Workload plumbing: selector, template labels, nodeSelector/tolerations/affinity from
  /// spec.<module path>, imagePullSecrets, serviceAccountName, pull policies.
  void workload(YAML::Node obj, const std::string& fate_module, Path module_path,
                bool service_account = true);
  /// Sets resources of container `c` from spec.<path>.resources merged over `defaults`.
  void resources(YAML::Node c, Path module_path, const YAML::Node& defaults = YAML::Node()) const;
  /// Service type, nodePorts (only for NodePort/LoadBalancer) and loadBalancerIP.
  /// `node_ports` pairs a port name with its spec path.
  void service(YAML::Node svc, const std::string& type,
               const std::vector<std::pair<std::string, std::string>>& node_ports, Path module_path,
               const std::string& lb_key = "loadBalancerIP") const;
  /// Data volume `vol` of a StatefulSet: emptyDir without persistence, the existing claim, or a
  /// volumeClaimTemplate with accessMode/storageClass/size from spec.<path>.
  void data_volume(YAML::Node sts, const std::string& vol, const std::string& fate_module,
                   Path module_path, const std::string& storage_class_default,
                   const std::string& existing_default = "");
  /// ConfigMap data value (always a string).
  static void set_data(YAML::Node cm, const std::string& key, const std::string& value);

  // ---- images --------------------------------------------------------------------------
  /// `<registry>/<name>:<tag>` for FATE's images (1.x).
  std::string image(const std::string& name, const std::string& tag = "") const;
  /// Third-party image: prefixed by the registry only when one was given in the spec.
  std::string third_party_image(const std::string& name_tag) const;
  /// The image of a module: `v1_image` for 1.x charts; for v2.0 `<prefix><image><v2_suffix>:<imageTag>`
  /// with image/imageTag from spec.<module_path> (defaults `v2_name`, `v2_tag` or the chart tag).
  std::string image_for(Path module_path, const std::string& v1_image, const std::string& v2_name,
                        const std::string& v2_suffix = "", const std::string& v2_tag = "") const;
  /// Suffix of fateflow / eggroll / spark-worker images for algorithm and device.
  std::string suffix(bool spark) const;
};

/// An env entry value as a string node.
void set_env(YAML::Node container, const std::string& name, const std::string& value);
/// Removes the list entries of `seq` whose `key` equals `value`.
void remove_named(YAML::Node seq, const std::string& key, const std::string& value);
/// The first container named `name` of a workload's pod template.
YAML::Node container(YAML::Node workload, const std::string& name);

/// Java-style properties text: sets `key=value` in place, or appends it after the line
/// `after` (or at the end).
std::string set_property(std::string text, const std::string& key, const std::string& value,
                         const std::string& after = "");

// ---- module renderers (one per file) -------------------------------------------------------
void render_mysql(Ctx& c);        // mysql.cc
void render_python(Ctx& c);       // fateflow.cc
void render_fateboard(Ctx& c);    // fateboard.cc
void render_client(Ctx& c);       // client.cc
void render_eggroll(Ctx& c);      // eggroll.cc (rollsite, clustermanager, nodemanager)
void render_spark(Ctx& c);        // spark.cc
void render_hdfs(Ctx& c);         // hdfs.cc
void render_nginx(Ctx& c);        // nginx.cc
void render_rabbitmq(Ctx& c);     // rabbitmq.cc
void render_pulsar(Ctx& c);       // pulsar.cc
void render_osx(Ctx& c);          // osx.cc (chart v2.0)
void render_exchange(Ctx& c);     // exchange.cc (trafficServer, nginx, rollsite)
void render_lbrollsite(Ctx& c);   // lbrollsite.cc (rollsite with an nginx load balancer)
void render_istio(Ctx& c);        // istio.cc (Gateway, VirtualServices; istio.enabled)
void render_ingress(Ctx& c, const std::string& ui, const std::string& module,
                    const std::string& service, int port);  // common.cc

// ---- chart fate v1.6 (v16.cc, v16_eggroll.cc, v16_spark.cc) ---------------------------------
/// Where a v1.6 module keeps its data: a PersistentVolumeClaim object `<module>-data` next to
/// the Deployment (the 1.6 chart has no StatefulSets).
struct Storage16 {
  std::string claim;                          ///< PVC name, e.g. "python-data"
  std::string existing;                       ///< existingClaim ("" = render `claim`)
  std::string storage_class;                  ///< "" = cluster default, "-" = no provisioning
  std::string access_mode = "ReadWriteOnce";
  std::string size = "1Gi";
};
/// Storage16 from spec.<module_path>: existingClaim, accessMode, size, and storageClass with the
/// chart's default `sc_default`.
Storage16 storage16(const Ctx& c, Path module_path, const std::string& claim, const std::string& sc_default);
/// Volume `vol` of a v1.6 Deployment: emptyDir without persistence, otherwise the existing claim
/// or `s.claim`, which is then rendered (module `module`, label fateMoudle `fate_module`).
void claim_volume16(Ctx& c, YAML::Node dep, const std::string& vol, const std::string& module,
                    const std::string& fate_module, const Storage16& s);
/// One node manager of chart v1.6 (`nodemanager-<i>`; `nodemanager.count` of them, else the
/// chart's two defaults).
struct NodeManager16 {
  std::string name;        ///< nodemanager-<i>
  std::string processors;  ///< sessionProcessorsPerNode
  Storage16 storage;
};
std::vector<NodeManager16> nodemanagers16(const Ctx& c);
void render_fate16(Ctx& c);       // v16.cc: every module of a v1.6 spec
void render_python16(Ctx& c);     // v16.cc (python + fateboard container)
void render_eggroll16(Ctx& c);    // v16_eggroll.cc (eggroll-config, rollsite, clustermanager, nodemanager-<i>)
void render_hdfs16(Ctx& c);       // v16_spark.cc
void render_pulsar16(Ctx& c);
/// ConfigMap pulsar-config and Services pulsar (and pulsar-public-tls) from `f` (pulsar.cc;
/// the same in every chart generation).
void pulsar_config_and_services(Ctx& c, const std::string& f);
/// With pulsar.exchange the broker serves TLS from the user-provided Secret pulsar-cert, mounted
/// at /opt/pulsar/certs/ of container `ctr` of workload `w` (pulsar.cc).
void mount_pulsar_cert(YAML::Node w, YAML::Node ctr);
/// ConfigMaps pulsar-route-table and rabbitmq-route-table of the FATE Flow pod from `f`
/// (fateflow.cc; every generation).
void route_table_configs(Ctx& c, const std::string& f);
/// Services fateflow (headless) and fateflow-client of the FATE Flow pod (fateflow.cc).
void fateflow_services(Ctx& c, const std::string& f);     // v16_spark.cc

// ---- generated config files (config_files.cc) ---------------------------------------------
std::string service_conf_yaml(const Ctx& c);
std::string eggroll_properties(const Ctx& c);
/// eggroll.properties text `t` with rollsite.polling (client or server) switched on after the
/// `# polling` line (every 1.x generation).
std::string set_polling_properties(const Ctx& c, std::string t);
std::string rollsite_route_table_json(const Ctx& c, bool exchange_chart);
std::string nginx_route_table_yaml(const Ctx& c, bool exchange_chart);
std::string pulsar_route_table_yaml(const Ctx& c);
std::string rabbitmq_route_table_yaml(const Ctx& c);
std::string spark_defaults_conf(const Ctx& c);
std::string pulsar_standalone_conf(const Ctx& c);
std::string fateboard_properties(const Ctx& c);
std::string ats_sni_yaml(const Ctx& c);
std::string ats_records_config(const Ctx& c);
// chart v1.6 (config_files_v16.cc)
std::string service_conf_yaml_v16(const Ctx& c);
std::string fateboard_properties_v16(const Ctx& c);
/// eggroll.properties of eggroll-config (`polling`: with the rollsite polling section) or of a
/// nodemanager-<i>-config (its own session processors, no polling section).
std::string eggroll_properties_v16(const Ctx& c, const std::string& processors, bool polling);
std::string mysql_init_sql_v16(const Ctx& c);
// chart v2.0 (config_files_v20.cc)
std::string service_conf_yaml_v20(const Ctx& c);
std::string osx_route_table_json(const Ctx& c);
std::string osx_broker_properties(const Ctx& c);
std::string eggroll_properties_v20(const Ctx& c);

/// Eggroll TLS for rollsite/osx: appends conf/cert_configs to eggroll.properties in the
/// container's start script (after the line `anchor`) and mounts the cert_configs key and the
/// `eggroll-certs` Secret.
void mount_eggroll_tls(YAML::Node dep, YAML::Node ctr, const std::string& anchor);

// ---- credentials (credentials.cc) -----------------------------------------------------------
/// An env or config key that holds a password, secret or token (not a path to one, not a flag).
bool credential_name(const std::string& name);
/// A value that is a credential: non-empty, not a boolean/null, not a ${PLACEHOLDER}.
bool credential_value(std::string value);
/// A config file (YAML, properties, JSON, ini) with a `key: value` / `key=value` line whose key is a
/// credential_name and whose value is a credential_value (comments ignored).
bool file_has_credential(const std::string& text);
/// Moves every password of the rendered objects into Secrets (see the top of credentials.cc).
void move_credentials_to_secrets(Ctx& c);

/// MySQL connection FATE's components use: externalMysql* win over mysql.*, which win over the
/// chart defaults.
struct Mysql {
  std::string host, port, db, user, password;
};
Mysql mysql(const Ctx& c);

/// Small value helpers shared by the config-file generators (config_files*.cc).
YAML::Node plain(const std::string& s);                 ///< "" -> null, else a plain scalar
std::string lower(std::string s);
YAML::Node ip_port(const std::string& ip, long port);  ///< [{ip, port}]
/// Adds `<partyId>: {default: [{ip, port}]}` to a rollsite/osx route table for each entry of a
/// spec's partyList ({partyId, partyIp, partyPort}).
void add_party_routes(YAML::Node rt, const YAML::Node& parties);
/// This party's own entry in a rollsite route table: fateflow:9360 and rollsite:9370.
void add_rollsite_self(const Ctx& c, YAML::Node rt);
/// The route_table.json document of rollsite/OSX: {route_table, [self_party], permission
/// default_allow}, as indented JSON ending in one newline.
std::string route_table_json(const YAML::Node& rt, const std::string& self_party = "");

}  // namespace fatectl::render::detail
