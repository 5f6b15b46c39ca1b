-- wrk script: POST a unique referral per request (own partner reference, person and
-- Idempotency-Key), count non-201 answers, print one JSON line of latency percentiles (microseconds).
-- Env: INTAKE_RUN (prefix of the references), INTAKE_KEY (a partner API key; "" for the ceiling).
local run = os.getenv("INTAKE_RUN") or "R"
local key = os.getenv("INTAKE_KEY") or ""
local counter = 0
local bad = 0
local syl = {"bar", "cen", "dol", "fen", "gar", "hul", "kir", "lom", "mor", "nes", "pol", "rud", "sal", "tor"}
local given = {"Aled", "Bryn", "Cai", "Dafydd", "Emrys", "Ffion", "Gwyn", "Huw", "Idris", "Jory", "Kit", "Llew"}
local template = '{"partner_reference":"%s","subject":{"given_name":"%s","middle_names":null,'
  .. '"family_name":"%s","date_of_birth":"%04d-%02d-%02d","aliases":[],"area":"Guildford"},'
  .. '"concern":{"domains":["domestic_abuse","stalking"],"offence_types":["controlling or coercive behaviour",'
  .. '"stalking"],"reason":"Disclosures by two former partners of coercive control and following.",'
  .. '"evidence_summary":"Key-worker notes of 3 and 17 February 2026."},'
  .. '"risk_indicators":["escalation","separation","multiple victims"],"statutory_status":"unconvicted_suspect",'
  .. '"route":"partner_referral","urgency":"high","legal_gateway":"cda1998_s115",'
  .. '"referrer":{"name":"A. Key-worker","role":"Recovery worker","email":"keyworker@das.example.org"}}'

local function family(n)
  local s = ""
  for _ = 1, 5 do
    s = s .. syl[(n % #syl) + 1]
    n = math.floor(n / #syl)
  end
  return s:sub(1, 1):upper() .. s:sub(2)
end

request = function()
  counter = counter + 1
  local ref = string.format("%s-%07d", run, counter)
  local body = string.format(template, ref, given[(counter % #given) + 1], family(counter * 7919),
    1950 + counter % 55, 1 + counter % 12, 1 + counter % 28)
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = ref}
  if key ~= "" then headers["X-API-Key"] = key end
  return wrk.format("POST", "/api/v1/referrals", headers, body)
end

response = function(status, headers, body)
  if status ~= 201 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("status " .. status .. ": " .. body:sub(1, 300) .. "\n") end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
