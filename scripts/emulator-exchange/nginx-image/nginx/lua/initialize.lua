-- init_worker_by_lua_file of the image's nginx.conf: starts reading the route table.
require("route_table").start()
