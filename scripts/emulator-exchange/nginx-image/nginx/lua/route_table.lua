-- The route table of the FATE proxy (nginx), as KubeFATE's nginx image keeps it; fatectl's
-- stand-in, written from what FATE's proxy does (see README.md beside nginx/):
--  * each worker reads conf/route_table.yaml under nginx's prefix when it starts and every
--    5 seconds after (the pod's command points it at the mounted ConfigMap,
--    conf/modifiable/route_table.yaml, with sed);
--  * a read only adds or replaces parties: a party that left the file stays routed until nginx
--    restarts -- why a removed party needs a new nginx pod;
--  * a file that cannot be read or parsed is logged and the table kept as it was.
local yaml = require "route_yaml"

local M = {}
local TABLE_FILE = "conf/route_table.yaml"
local REREAD_SECONDS = 5
local routes = {}  -- party id (string) or "default" -> { service -> { {host, http_port, grpc_port}, ... } }

local function read_table()
  local path = ngx.config.prefix() .. TABLE_FILE
  local f, err = io.open(path, "r")
  if not f then
    ngx.log(ngx.ERR, "route table: cannot open ", path, ": ", err)
    return
  end
  local text = f:read("*a")
  f:close()
  local ok, doc = pcall(yaml.parse, text)
  if not ok or type(doc) ~= "table" then
    ngx.log(ngx.ERR, "route table ", path, ": ", tostring(doc))
    return
  end
  local n = 0
  for party, services in pairs(doc) do
    routes[tostring(party)] = services
    n = n + 1
  end
  ngx.log(ngx.INFO, "route table ", path, ": ", n, " entries read")
end

local function tick(premature)
  if premature then return end
  read_table()
  local ok, err = ngx.timer.at(REREAD_SECONDS, tick)
  if not ok and err ~= "process exiting" then
    ngx.log(ngx.ERR, "route table: cannot schedule the next read: ", err)
  end
end

function M.start()
  tick(false)
end

-- "host:port" for one server entry: grpc_port for HTTP/2 (gRPC) requests, http_port otherwise.
local function address(server)
  if type(server) ~= "table" or server.host == nil then return nil end
  local port = server.http_port
  if ngx.req.http_version() == 2 then port = server.grpc_port end
  if port == nil then return nil end
  return tostring(server.host) .. ":" .. tostring(port)
end

-- The upstream for a request to `party` for `service`, or nil and why. A party in the table
-- must have that service; any other party goes to the `default` entry's proxy.
function M.upstream(party, service)
  if party == nil then return nil, "no dest-party-id (or dest-env) header" end
  party = tostring(party)
  local list
  local entry = routes[party]
  if entry ~= nil then
    if type(entry) ~= "table" or service == nil or type(entry[service]) ~= "table" then
      return nil, "party " .. party .. " has no route for service " .. tostring(service)
    end
    list = entry[service]
  else
    local default = routes["default"]
    if type(default) ~= "table" or type(default.proxy) ~= "table" then
      return nil, "no route for party " .. party .. " and no default proxy"
    end
    list = default.proxy
  end
  if #list == 0 then return nil, "empty server list for party " .. party end
  local target = address(list[math.random(1, #list)])
  if target == nil then return nil, "route of party " .. party .. " has no host or port" end
  return target
end

return M
