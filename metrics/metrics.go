// Package metrics keeps SmartDocs' Prometheus metrics in a registry of
// its own (never the global default one), so two servers in one test
// process do not collide and nothing registers behind the app's back.
//
// The names, all prefixed smartdocs_:
//
//	http_requests_total{route,method,status}       requests by chi route pattern; method "other" outside the standard ones
//	http_request_duration_seconds{route}            histogram
//	ratelimit_decisions_total{result,policy}        result: allowed, limited, dry_run (refused but let through)
//	bans_refused_total                              requests refused by a ban (403), never counted by the limiter
//	redis_call_duration_seconds                     histogram of every limiter round trip to Redis
//	redis_errors_total                              those that failed or timed out
//	ratelimit_fallback                              1 while decisions are made without Redis
//	ratelimit_refusal_cache_hits_total              refusals answered locally, saving a round trip
//	ratelimit_fallback_decisions_total              decisions made by the failure mode
//	llm_duration_seconds{model}                     histogram, question to last token
//	llm_errors_total{model}                         answers that failed
//
// plus the Go runtime and process collectors. Every label takes a bounded
// set of values whatever clients send: routes are patterns, methods
// outside the standard ones count as "other", models are the registered
// engines. Every method is safe for concurrent use.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector and the registry they are in.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	banned    prometheus.Counter
	redis     prometheus.Histogram
	redisErrs prometheus.Counter
	llm       *prometheus.HistogramVec
	llmErrs   *prometheus.CounterVec

	// series and outcomes keep the collectors of label values already
	// seen, so that a request does not hash its labels into the vectors
	// again: a flood repeats the same few. Both are bounded as the labels
	// are.
	series   sync.Map // requestLabels -> *requestSeries
	outcomes sync.Map // decisionLabels -> prometheus.Counter
}

type requestLabels struct {
	route, method string
	status        int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

type decisionLabels struct {
	result, policy string
}

// New returns Metrics registered in a new registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smartdocs_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "smartdocs_http_request_duration_seconds", Help: "HTTP request duration by route pattern, until the handler returned (the whole stream for /chat).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"route"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smartdocs_ratelimit_decisions_total", Help: "Rate-limit decisions by result (allowed, limited, dry_run) and by the policy (layer) that decided.",
	}, []string{"result", "policy"})
	m.banned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smartdocs_bans_refused_total", Help: "Requests refused with 403 because the client is banned.",
	})
	m.redis = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "smartdocs_redis_call_duration_seconds", Help: "Duration of the limiter's round trips to Redis, failed ones included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
	})
	m.redisErrs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smartdocs_redis_errors_total", Help: "Limiter round trips to Redis that failed or timed out.",
	})
	m.llm = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "smartdocs_llm_duration_seconds", Help: "Time from question to the last token of the answer, by model.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80},
	}, []string{"model"})
	m.llmErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smartdocs_llm_errors_total", Help: "Answers that failed, before or during the stream, by model.",
	}, []string{"model"})
	f(m.requests)
	f(m.durations)
	f(m.decisions)
	f(m.banned)
	f(m.redis)
	f(m.redisErrs)
	f(m.llm)
	f(m.llmErrs)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request counts one finished HTTP request. route is the router's
// pattern ("/chat", "/static/*"), never the raw path, so the number of
// series stays bounded; "" is recorded as "unmatched". method may be
// anything the client sent: a method outside the standard ones (see
// Method) counts as "other".
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	l := requestLabels{route: route, method: Method(method), status: status}
	s, ok := m.series.Load(l)
	if !ok {
		s, _ = m.series.LoadOrStore(l, &requestSeries{
			count:    m.requests.WithLabelValues(l.route, l.method, strconv.Itoa(status)),
			duration: m.durations.WithLabelValues(l.route),
		})
	}
	rs := s.(*requestSeries)
	rs.count.Inc()
	rs.duration.Observe(d.Seconds())
}

// Method is the method label of a request: the method itself when it is
// one of the nine of RFC 9110 and RFC 5789 (GET, HEAD, POST, PUT, PATCH,
// DELETE, OPTIONS, CONNECT, TRACE), else "other", so that clients cannot
// make series up.
func Method(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// Decision counts one rate-limit decision. A refusal that dry-run let
// through is "dry_run".
func (m *Metrics) Decision(allowed, dryRun bool, policy string) {
	result := "allowed"
	switch {
	case !allowed && dryRun:
		result = "dry_run"
	case !allowed:
		result = "limited"
	}
	l := decisionLabels{result: result, policy: policy}
	c, ok := m.outcomes.Load(l)
	if !ok {
		c, _ = m.outcomes.LoadOrStore(l, m.decisions.WithLabelValues(result, policy))
	}
	c.(prometheus.Counter).Inc()
}

// Banned counts one request refused by a ban.
func (m *Metrics) Banned() { m.banned.Inc() }

// RedisCall records one round trip to Redis; it fits
// ratelimit.FailoverOptions.OnCall.
func (m *Metrics) RedisCall(d time.Duration, err error) {
	m.redis.Observe(d.Seconds())
	if err != nil {
		m.redisErrs.Inc()
	}
}

// LLM records one answer of model: how long it took and whether it failed.
func (m *Metrics) LLM(model string, d time.Duration, err error) {
	m.llm.WithLabelValues(model).Observe(d.Seconds())
	if err != nil {
		m.llmErrs.WithLabelValues(model).Inc()
	}
}

// FailoverStats is what Failover reports, read at every scrape.
type FailoverStats struct {
	Down      bool
	CacheHits int64
	Fallbacks int64
}

// WatchFailover exports the state of the Redis failover: stats is called
// at every scrape. Call it at most once.
func (m *Metrics) WatchFailover(stats func() FailoverStats) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smartdocs_ratelimit_fallback", Help: "1 while Redis is unreachable and decisions follow REDIS_FAILURE_MODE, else 0.",
	}, func() float64 {
		if stats().Down {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "smartdocs_ratelimit_refusal_cache_hits_total", Help: "Refusals answered from the local refusal cache without a Redis round trip.",
	}, func() float64 { return float64(stats().CacheHits) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "smartdocs_ratelimit_fallback_decisions_total", Help: "Decisions made by the failure mode while Redis was unreachable.",
	}, func() float64 { return float64(stats().Fallbacks) }))
}
