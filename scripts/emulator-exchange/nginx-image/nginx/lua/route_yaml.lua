-- The YAML the route table is written in (what fatectl and KubeFATE's chart render): block
-- mappings and sequences, plain and quoted scalars, comments, empty flow collections ([] {}).
-- Anything else is an error naming the line. Part of fatectl's stand-in for the content of
-- KubeFATE's nginx image (see README.md beside nginx/); not FATE's own parser.
local M = {}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A line without its comment (a '#' at the start or after a blank, outside quotes).
local function strip_comment(s)
  local quote, prev = nil, " "
  for i = 1, #s do
    local c = s:sub(i, i)
    if quote then
      if c == quote then quote = nil end
    elseif c == "'" or c == '"' then
      quote = c
    elseif c == "#" and (prev == " " or prev == "\t") then
      return s:sub(1, i - 1)
    end
    prev = c
  end
  return s
end

local function scalar(s, where)
  s = trim(s)
  if s == "" or s == "~" or s == "null" then return nil end
  if s == "[]" or s == "{}" then return {} end
  local q = s:sub(1, 1)
  if q == "'" then
    if s:sub(-1) ~= "'" or #s < 2 then error(where .. ": unterminated quoted scalar", 0) end
    return (s:sub(2, -2):gsub("''", "'"))
  end
  if q == '"' then
    if s:sub(-1) ~= '"' or #s < 2 then error(where .. ": unterminated quoted scalar", 0) end
    local inner = s:sub(2, -2)
    return (inner:gsub('\\(.)', { n = "\n", t = "\t", ['"'] = '"', ["\\"] = "\\" }))
  end
  if q == "[" or q == "{" or q == "&" or q == "*" or q == "!" or q == "|" or q == ">" then
    error(where .. ": unsupported YAML: " .. s, 0)
  end
  return s
end

-- "key: rest" -> key, rest ; nil when the text is not a mapping entry.
local function split_key(s)
  local key, rest
  local q = s:sub(1, 1)
  if q == "'" or q == '"' then
    local close = s:find(q, 2, true)
    if not close then return nil end
    key = s:sub(1, close)
    rest = s:sub(close + 1)
    if rest ~= ":" and rest:sub(1, 2) ~= ": " then return nil end
    return scalar(key, ""), rest:sub(2)
  end
  local i = s:find(":%s") or (s:sub(-1) == ":" and #s or nil)
  if not i then return nil end
  return trim(s:sub(1, i - 1)), s:sub(i + 1)
end

local parse_block

local function is_item(line)
  return line.text == "-" or line.text:sub(1, 2) == "- "
end

local function parse_sequence(lines, i, indent)
  local seq = {}
  while i <= #lines and lines[i].indent == indent and is_item(lines[i]) do
    local line = lines[i]
    local rest = line.text:sub(2)
    local body = rest:gsub("^%s+", "")
    if body == "" then
      if i + 1 <= #lines and lines[i + 1].indent > indent then
        local v
        v, i = parse_block(lines, i + 1, lines[i + 1].indent)
        seq[#seq + 1] = v
      else
        seq[#seq + 1] = {}
        i = i + 1
      end
    elseif split_key(body) or body:sub(1, 2) == "- " then
      -- the item's content continues at the column it starts in
      lines[i] = { indent = indent + 1 + (#rest - #body), text = body, no = line.no }
      local v
      v, i = parse_block(lines, i, lines[i].indent)
      seq[#seq + 1] = v
    else
      seq[#seq + 1] = scalar(body, "line " .. line.no)
      i = i + 1
    end
  end
  return seq, i
end

local function parse_mapping(lines, i, indent)
  local map = {}
  while i <= #lines and lines[i].indent == indent and not is_item(lines[i]) do
    local line = lines[i]
    local key, rest = split_key(line.text)
    if key == nil then error("line " .. line.no .. ": expected 'key: value', got '" .. line.text .. "'", 0) end
    i = i + 1
    if trim(rest) ~= "" then
      map[key] = scalar(rest, "line " .. line.no)
    elseif i <= #lines and lines[i].indent > indent then
      map[key], i = parse_block(lines, i, lines[i].indent)
    elseif i <= #lines and lines[i].indent == indent and is_item(lines[i]) then
      map[key], i = parse_sequence(lines, i, indent)
    else
      map[key] = nil
    end
  end
  return map, i
end

parse_block = function(lines, i, indent)
  if is_item(lines[i]) then return parse_sequence(lines, i, indent) end
  if not split_key(lines[i].text) then
    return scalar(lines[i].text, "line " .. lines[i].no), i + 1
  end
  return parse_mapping(lines, i, indent)
end

-- The document as Lua tables (mapping keys are strings); raises "line N: ..." on what it cannot read.
function M.parse(text)
  local lines = {}
  local no = 0
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    no = no + 1
    if raw:find("\t", 1, true) and raw:match("^%s*\t") then error("line " .. no .. ": tab in indentation", 0) end
    local s = strip_comment(raw):gsub("%s+$", "")
    if s ~= "" and s ~= "---" and s ~= "..." then
      local ind = #s:match("^ *")
      lines[#lines + 1] = { indent = ind, text = s:sub(ind + 1), no = no }
    end
  end
  if #lines == 0 then return {} end
  local doc, i = parse_block(lines, 1, lines[1].indent)
  if i <= #lines then error("line " .. lines[i].no .. ": unexpected indentation", 0) end
  return doc
end

return M
