#include "exchange_flags.h"

#include "fatectl/fed/job.h"

namespace fatectl::cli {

ops::ReloadOptions ExchangeReloadFlags::options(const GlobalOptions& g) const {
  ops::ReloadOptions r;
  r.kubeconfig = g.kubeconfig;
  r.context = g.context;
  r.namespace_override = g.namespace_;
  r.traffic_ctl = traffic_ctl;
  r.timeout = fed::parse_duration(timeout, "--timeout");
  r.poll = fed::parse_duration(poll, "--poll");
  r.confirm_timeout = std::min(r.confirm_timeout, r.timeout);
  r.restart_nginx = !no_restart_nginx;
  r.restart_traffic_server = !no_restart_traffic_server;
  return r;
}

void add_reload_flags(CLI::App* c, ExchangeReloadFlags& f, bool changes, const std::string& prefix) {
  c->add_option("--" + prefix + "timeout", f.timeout,
                "how long to wait for the kubelet to refresh a pod's mounted files, and for restarted pods (default 3m)");
  c->add_option("--" + prefix + "poll", f.poll, "how often to look at the pods while waiting (default 2s)");
  c->add_option("--traffic-ctl", f.traffic_ctl, "path of traffic_ctl inside the traffic-server container")
      ->default_str(ops::kDefaultTrafficCtl);
  if (!changes) return;
  c->add_flag("--no-restart-nginx", f.no_restart_nginx,
              "do not restart the nginx pods after a party left the nginx routes (nginx keeps routing it until restarted)");
  c->add_flag("--no-restart-traffic-server", f.no_restart_traffic_server,
              "fail instead of restarting traffic-server pods whose records.config changed (new tunnel ports)");
  c->add_flag("--restart-traffic-server", f.restart_traffic_server,
              "restart traffic-server pods whose records.config changed (the default)");
}

}  // namespace fatectl::cli
