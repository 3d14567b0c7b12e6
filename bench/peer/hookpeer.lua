-- bench/peer/hookpeer.lua: the do-it-yourself webhook bridge that teams run instead of hookbridge, as the benchmark's
-- peer (bench/peer/nginx.conf). Per request: read the body, check its HMAC-SHA256 (OpenSSL's HMAC() through LuaJIT's
-- FFI) against the signature header in constant time, produce the body to Kafka synchronously with acks=all
-- (lua-resty-kafka, Debian's lua-nginx-kafka 0.07), and answer 200 only once the broker acknowledged it.
--
-- Settings come from the environment (nginx.conf's `env`): PEER_BROKERS (host:port), PEER_TOPIC, PEER_SECRET,
-- PEER_HEADER (the signature header, default X-Signature-256).
local ffi = require "ffi"
local producer = require "nginx.kafka.producer"
local client = require "nginx.kafka.client"

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *d, size_t n,
                    unsigned char *md, unsigned int *md_len);
]]
local crypto = ffi.load("libcrypto.so.3")

local _M = {}

local secret = os.getenv("PEER_SECRET") or ""
local topic = os.getenv("PEER_TOPIC") or "webhooks.bench"
local header = os.getenv("PEER_HEADER") or "X-Signature-256"
local brokers = {}
for host, port in (os.getenv("PEER_BROKERS") or "127.0.0.1:9092"):gmatch("([^,:]+):(%d+)") do
    brokers[#brokers + 1] = {host = host, port = tonumber(port)}
end

-- Debian's lua-resty-kafka 0.07 speaks Produce v0-v2 only; acks=-1 is acks=all. Sockets to the broker are kept
-- alive (the default pool of 2 per worker would reconnect for nearly every request under load).
local config = {
    producer_type = "sync",
    required_acks = -1,
    api_version = 2,
    request_timeout = 8000,
    max_retry = 3,
    socket_timeout = 10000,
    keepalive_size = 512,
    -- the ring buffer is async mode's, yet every producer allocates it: 3 x max_buffering slots (150,000 by
    -- default, ~1 MiB per request made this peer spend a millisecond of CPU per request in the allocator and GC)
    max_buffering = 1,
    batch_num = 1,
}

local md = ffi.new("unsigned char[32]")
local mdlen = ffi.new("unsigned int[1]")
local hex = {}
for i = 0, 255 do
    hex[i] = string.format("%02x", i)
end

local function hmac_hex(body)
    crypto.HMAC(crypto.EVP_sha256(), secret, #secret, body, #body, md, mdlen)
    local out = {}
    for i = 0, mdlen[0] - 1 do
        out[i + 1] = hex[md[i]]
    end
    return table.concat(out)
end

-- The time taken depends on the lengths only, never on where the first difference is.
local function equal(a, b)
    if #a ~= #b then
        return false
    end
    local diff = 0
    for i = 1, #a do
        diff = bit.bor(diff, bit.bxor(a:byte(i), b:byte(i)))
    end
    return diff == 0
end

local function answer(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #body
    ngx.print(body)
    return ngx.exit(status)
end

-- One metadata client per worker: a producer made per request would otherwise fetch the metadata every time.
local shared_client

function _M.init_worker()
    shared_client = client:new(brokers, config)
end

function _M.handle()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body == nil then
        -- nginx spilled the body to a file (larger than client_body_buffer_size) or there is none
        return answer(400, '{"error":"bad_request","reason":"no body in memory"}\n')
    end
    local sig = ngx.req.get_headers()[header]
    if type(sig) ~= "string" then
        return answer(401, '{"error":"unauthorized","reason":"Missing header"}\n')
    end
    sig = sig:gsub("^sha256=", ""):lower()
    if not equal(hmac_hex(body), sig) then
        return answer(401, '{"error":"unauthorized","reason":"Signature mismatch"}\n')
    end
    -- A producer per request: in sync mode its send buffer holds this request's record only (a shared one would
    -- batch concurrent requests' records together and answer each from the others' results).
    local p = producer:new(brokers, config)
    p.client = shared_client
    local id = ngx.var.request_id
    local offset, err = p:send(topic, id, body)
    if not offset then
        ngx.log(ngx.ERR, "produce failed: ", err)
        return answer(503, '{"error":"unavailable","reason":"kafka"}\n')
    end
    return answer(200, '{"ok":true,"id":"' .. id .. '"}\n')
end

return _M
