-- wrk script for the benchmark. Always: print one machine-readable summary line at the end.
-- With BENCH_COOKIES set: a different session cookie on every request, read from that file
-- (one value a line). Each thread takes its own share of lines [FIRST, FIRST + COUNT) and
-- walks it in order, wrapping around, or stopping at its end when BENCH_COOKIES_ONCE=1: the
-- thread then creates the file BENCH_DONE.<thread id> (wrk itself runs on until its duration
-- ends or it gets SIGINT, which the runner sends once every thread's file exists).

local cookie_file = os.getenv("BENCH_COOKIES")
local cookie_name = os.getenv("BENCH_COOKIE_NAME") or "next-auth.session-token"
local threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
local first = tonumber(os.getenv("BENCH_COOKIES_FIRST") or "0")
local count = tonumber(os.getenv("BENCH_COOKIES_COUNT") or "0")
local once = os.getenv("BENCH_COOKIES_ONCE") == "1"
local done_file = os.getenv("BENCH_DONE")

local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end

if cookie_file then
   local cookies, n, i = {}, 0, 0
   local headers = {}

   function init(args)
      for name, value in pairs(wrk.headers) do
         headers[name] = value
      end
      local line_no = 0
      local last = count > 0 and first + count or math.huge
      for line in io.lines(cookie_file) do
         if line_no >= first and line_no < last and (line_no - first) % threads == id then
            n = n + 1
            cookies[n] = line
         end
         line_no = line_no + 1
      end
   end

   function request()
      i = i + 1
      if i > n then
         if once then
            wrk.thread:stop()
            if done_file then
               io.open(done_file .. "." .. id, "w"):close()
            end
            i = n
         else
            i = 1
         end
      end
      headers["Cookie"] = cookie_name .. "=" .. cookies[i]
      return wrk.format(nil, nil, headers)
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
end
