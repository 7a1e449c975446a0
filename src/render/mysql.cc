// Module mysql: StatefulSet mysql, Service mysql, ConfigMap mysql-config (eggroll metadata tables).
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_mysql(Ctx& c) {
  const std::string f = c.manifests + "/mysql.yaml";
  const std::string db = c.str({"mysql", "database"}, "eggroll_meta");

  YAML::Node cm = c.base(f, "ConfigMap", "mysql-config");
  // the chart leaves the init script out for computing Spark (HDFS storage keeps no eggroll metadata)
  if (c.computing != "Spark") {
    std::string sql = c.text(c.manifests + "/mysql-create-eggroll-meta-tables.sql");
    for (size_t p; (p = sql.find("@database@")) != std::string::npos;) sql.replace(p, 10, db);
    Ctx::set_data(cm, "create-eggroll-meta-tables.sql", sql);
  }
  c.add("mysql", cm, "mysql");

  YAML::Node svc = c.base(f, "Service", "mysql");
  c.service(svc, c.str({"mysql", "type"}, "ClusterIP"), {}, {"mysql"});
  svc["spec"]["selector"] = c.match_labels("mysql");
  c.add("mysql", svc, "mysql");

  YAML::Node sts = c.base(f, "StatefulSet", "mysql");
  c.workload(sts, "mysql", {"mysql"});
  YAML::Node ctr = container(sts, "mysql");
  ctr["image"] = c.image_for({"mysql"}, c.third_party_image("mysql:8.0.28"), "mysql", "", "8.0.28");
  set_env(ctr, "MYSQL_DATABASE", db);
  set_env(ctr, "MYSQL_USER", c.str({"mysql", "user"}, "fate"));
  set_env(ctr, "MYSQL_PASSWORD", c.str({"mysql", "password"}, "fate_dev"));
  std::string sub = c.raw({"mysql", "subPath"}, "mysql");
  if (!sub.empty())
    for (auto m : ctr["volumeMounts"])
      if (m["name"].Scalar() == "data") m["subPath"] = yaml::str(sub);
  c.data_volume(sts, "data", "mysql", {"mysql"}, "", "mysql-data");
  c.add("mysql", sts, "mysql");
}

}  // namespace fatectl::render::detail
