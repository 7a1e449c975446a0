-- access_by_lua_file of the image's vhosts: picks the upstream from the party id header, as FATE's
-- proxy does (dest-party-id, else dest-env; the service from the `service` header).
local route_table = require "route_table"

local function first(v)
  if type(v) == "table" then return v[1] end
  return v
end

local headers = ngx.req.get_headers()
local party = first(headers["dest-party-id"]) or first(headers["dest-env"])
local target, why = route_table.upstream(party, first(headers["service"]))
if target == nil then
  ngx.log(ngx.ERR, "routing: ", why)
  return ngx.exit(ngx.HTTP_BAD_GATEWAY)
end
ngx.ctx.dest_cluster = target
