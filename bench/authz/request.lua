-- wrk script for bench/authz.sh: METHOD (GET), BODY (a file; none: no
-- body), and the credential: AUTH (an Authorization header value) or
-- COOKIE with CSRF (a session cookie and its CSRF token).
wrk.method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY") or ""
if body ~= "" then
  local f = assert(io.open(body, "r"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("AUTH") or ""
if auth ~= "" then wrk.headers["Authorization"] = auth end
local cookie = os.getenv("COOKIE") or ""
if cookie ~= "" then
  wrk.headers["Cookie"] = cookie
  wrk.headers["X-CSRF-Token"] = os.getenv("CSRF") or ""
end

