-- authgw forward-auth for HAProxy 2.6 and later (core.httpclient), as
-- loaded by testdata/haproxy/haproxy.cfg.tmpl:
--
--   global
--       lua-load /etc/haproxy/authgw.lua
--   frontend app
--       http-request lua.authgw http://127.0.0.1:6547/forward-auth/haproxy
--
-- The action asks authgw's /forward-auth/haproxy about the request: a GET
-- with the client's headers (Authorization, Cookie, Accept, Origin, ...)
-- except the hop-by-hop ones and every X-Forwarded-*, X-Original-* and
-- Forwarded header the client sent, and with X-Forwarded-Method,
-- X-Forwarded-Uri, X-Forwarded-Host, X-Forwarded-Proto and
-- X-Forwarded-For set from what HAProxy saw. It decides nothing itself:
-- it leaves authgw's answer in transaction variables for haproxy.cfg's
-- rules,
--
--   txn.authgw_status            the status (503 when authgw did not answer)
--   txn.authgw_body              the body (authgw's JSON envelope)
--   txn.authgw_info              X-Auth-Info, and
--   txn.authgw_info_signed       X-Auth-Info-Signed,
--   txn.authgw_info_algorithm    X-Auth-Info-Algorithm of a 200
--   txn.authgw_location          Location of a browser's 303 to sign in
--   txn.authgw_www_authenticate  WWW-Authenticate of a 401
--   txn.authgw_retry_after       Retry-After of a 429
--   txn.authgw_cookie            the Cookie the backend may get: the
--                                client's without authgw's token cookies
--                                (unset: no Cookie at all)

-- Headers not passed on to authgw: hop-by-hop, or describing the
-- request (the action sets those).
local skip = {
  ["host"] = true, ["content-length"] = true, ["transfer-encoding"] = true,
  ["connection"] = true, ["keep-alive"] = true, ["te"] = true, ["trailer"] = true,
  ["upgrade"] = true, ["expect"] = true, ["proxy-connection"] = true,
  ["proxy-authorization"] = true, ["forwarded"] = true,
}

-- The token cookies' names, as authgw sets them (authgw-<method>, its
-- -stepup and -discharge, each also with __Host-).
local token_cookie = {}
for _, m in ipairs({ "get", "post", "put", "patch", "delete" }) do
  for _, suffix in ipairs({ "", "-stepup", "-discharge" }) do
    token_cookie["authgw-" .. m .. suffix] = true
  end
end

-- values lists a header table's values (HAProxy indexes them from 0).
local function values(v)
  local list = {}
  if type(v) ~= "table" then
    if v ~= nil then list[1] = v end
    return list
  end
  local i = 0
  if v[0] == nil then i = 1 end
  while v[i] ~= nil do
    list[#list + 1] = v[i]
    i = i + 1
  end
  return list
end

-- first is the first value of header name in table h, or nil.
local function first(h, name)
  if h == nil then return nil end
  return values(h[name])[1]
end

-- backend_cookie is the Cookie lines without authgw's token cookies, in
-- any spelling some server reads as one: any case, "__Host-" spelled with
-- "." or "+", "name[x]", pairs split at "," as Rack does, any byte outside
-- printable ASCII around a name (Python's str.strip trims \x85 and \xa0).
-- A percent-escaped name (PHP unescapes them), or a token cookie's name
-- without "=", leaves no cookie at all: nil.
local function backend_cookie(lines)
  local kept = {}
  for _, line in ipairs(lines) do
    for pair in string.gmatch(line, "[^;,]+") do
      local name = pair:match("^([^=]*)")
      name = name:gsub("^[^\33-\126]+", ""):gsub("[^\33-\126]+$", ""):lower()
      if name:find("%", 1, true) then
        return nil
      end
      name = name:gsub("%[.*$", ""):gsub("^[_%.%+][_%.%+]host%-", "")
      if token_cookie[name] and not pair:find("=", 1, true) then
        return nil
      end
      if not token_cookie[name] then
        local p = pair:gsub("^[ \t]+", "")
        if p ~= "" then kept[#kept + 1] = p end
      end
    end
  end
  if #kept == 0 then return nil end
  return table.concat(kept, "; ")
end

local function authgw(txn, url)
  local reqh = txn.http:req_get_headers()
  local headers = {}
  for name, v in pairs(reqh) do
    local n = name:lower()
    if not skip[n] and n:sub(1, 12) ~= "x-forwarded-" and n:sub(1, 11) ~= "x-original-" and n ~= "x-forwarded" then
      headers[n] = values(v)
    end
  end
  headers["x-forwarded-method"] = { txn.f:method() }
  headers["x-forwarded-uri"] = { txn.f:pathq() }
  -- One Host, else none (authgw answers 400 naming X-Forwarded-Host).
  local hosts = values(reqh["host"])
  if #hosts == 1 then headers["x-forwarded-host"] = { hosts[1] } end
  local tls = txn.f:ssl_fc()
  headers["x-forwarded-proto"] = { (tls == true or tls == 1) and "https" or "http" }
  headers["x-forwarded-for"] = { txn.f:src() }

  local cookie = backend_cookie(values(reqh["cookie"]))
  if cookie ~= nil then txn:set_var("txn.authgw_cookie", cookie) end

  local res = core.httpclient():get{ url = url, headers = headers }
  if res == nil or res.status == nil or res.status == 0 then
    txn:set_var("txn.authgw_status", 503)
    txn:set_var("txn.authgw_body", '{"t":"error","error":{"status":503,"code":"UNAVAILABLE","detail":"Try again later."}}')
    return
  end
  txn:set_var("txn.authgw_status", res.status)
  -- Without the final newline, which lf-string would escape.
  local body = (res.body or ""):gsub("%s+$", "")
  txn:set_var("txn.authgw_body", body)
  local vars = {
    ["x-auth-info"] = "txn.authgw_info",
    ["x-auth-info-signed"] = "txn.authgw_info_signed",
    ["x-auth-info-algorithm"] = "txn.authgw_info_algorithm",
    ["location"] = "txn.authgw_location",
    ["www-authenticate"] = "txn.authgw_www_authenticate",
    ["retry-after"] = "txn.authgw_retry_after",
  }
  local resh = {}
  for name, v in pairs(res.headers or {}) do resh[name:lower()] = v end
  for name, var in pairs(vars) do
    local v = first(resh, name)
    if v ~= nil then txn:set_var(var, v) end
  end
end

core.register_action("authgw", { "http-req" }, authgw, 1)
