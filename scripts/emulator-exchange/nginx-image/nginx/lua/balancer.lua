-- balancer_by_lua_file of the upstreams in nginx.conf (http_cluster, grpc_cluster): connects to
-- the server router.lua chose.
local balancer = require "ngx.balancer"

local target = ngx.ctx.dest_cluster
if target == nil then
  ngx.log(ngx.ERR, "balancer: no upstream chosen")
  return ngx.exit(ngx.HTTP_BAD_GATEWAY)
end
local ok, err = balancer.set_current_peer(target)
if not ok then
  ngx.log(ngx.ERR, "balancer: cannot use ", target, ": ", err)
  return ngx.exit(ngx.HTTP_BAD_GATEWAY)
end
