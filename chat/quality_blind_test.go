package chat

// chiBlind, pipBlind and pinoBlind are a blind half for each foreign
// corpus. They were written blind on 2026-12-03 from the documents
// alone, by someone who did not run the engine, to measure the engine on
// questions nobody has seen: they are not to be tuned on, and are not
// changed after seeing results.
//
// Each holds 20 questions: 14 on-topic as users type them (two of them
// with a typo), 3 follow-ups with history and 3 off-topic, one of those
// near the corpus's topic but not covered by it. They ask mostly about
// sections the other question files ask little about.

// chiBlind asks about the READMEs of chi, httprate, cors and
// httprate-redis (testdata/chi).
var chiBlind = []qualityCase{
	{question: "where did chi's middleware package originally come from", want: on("chi.md", "Credits"), fact: "goji"},
	{question: "turn off the x-ratelimit headers in responses", want: on("httprate.md", "Omit response headers"), fact: "ResponseHeaders{}"},
	{question: "rate limit by api token header", want: on("httprate.md", "Rate limit by arbitrary keys"), fact: "X-Access-Token"},
	{question: "point httprate at my redis server", want: on("httprate-redis.md", "Example"), fact: "WithRedisLimitCounter"},
	{question: "is go-chi/cors its own library or a fork", want: on("cors.md", ""), fact: "rs/cors"},
	{question: "one shared limit for all users instead of per ip", want: on("httprate.md", "Example"), fact: "httprate.Key(\"*\")"},
	{question: "every user hits the rate limit together during local dev", want: on("httprate.md", "Rate limit by client IP behind a proxy"), fact: "single global rate-limit bucket"},
	{question: "why does chi allocate on every request in the benchmarks", want: on("chi.md", "Benchmarks"), fact: "WithContext"},
	{question: "regex constraint on a url param", want: on("chi.md", "Examples"), fact: "articleSlug"},
	{question: "route to different handlers based on a request header", want: on("chi.md", "Core middlewares"), fact: "RouteHeaders"},
	{question: "clean up dubble slashes in request paths", want: on("chi.md", "Core middlewares"), fact: "CleanPath"},
	{question: "write my own storage backend for httprate", want: on("httprate.md", ""), fact: "httprate.LimitCounter"},
	{question: "collapse duplicate concurent requests into one", want: on("chi.md", "Extra middlewares & packages"), fact: "stampede"},
	{question: "how many lines of code is chi", want: []section{{"chi.md", ""}, {"chi.md", "Features"}}, fact: "1000 LOC"},
	{question: "can i get it as a netip.Addr rather than a string?", history: []string{"how do i get the client's ip in a handler"}, want: on("chi.md", "Choosing a ClientIP middleware"), fact: "GetClientIPAddr"},
	{question: "which one stops browsers from caching my responses?", history: []string{"what middlewares come with chi"}, want: on("chi.md", "Core middlewares"), fact: "NoCache"},
	{question: "and one for structured request logging?", history: []string{"is there a jwt package for chi"}, want: on("chi.md", "Extra middlewares & packages"), fact: "httplog"},
	{question: "how do i handle websocket connections in chi"},
	{question: "what is the best way to store fresh basil"},
	{question: "recommend a good sci-fi novel"},
}

// pipBlind asks about pages of the pip user guide (testdata/pip).
var pipBlind = []qualityCase{
	{question: "get pip into a python install that doesn't have it, using only the standard library", want: on("installation.md", "`ensurepip`"), fact: "python -m ensurepip --upgrade"},
	{question: "which ca certificates does pip use by default", want: on("https-certificates.md", ""), fact: "certifi"},
	{question: "pip from my linux distro's package manager acts differently from the docs", want: on("installation.md", "Alternative Methods"), fact: "redistributors"},
	{question: "can i have one pip config for the whole machine and another just for me", want: on("configuration.md", "Configuration Files"), fact: "system-wide"},
	{question: "does an enviroment variable beat a setting in pip.conf", want: on("configuration.md", "Precedence / Override order"), fact: "overrides a config file"},
	{question: "turn off the cache from the config file", want: on("configuration.md", "Boolean options"), fact: "no-cache-dir = false"},
	{question: "shwo which wheels are in pip's cache", want: on("caching.md", "Listing cached files"), fact: "pip cache list"},
	{question: "pip keeps reusing a cached wheel that was built without the c extensions", want: on("caching.md", "Avoiding caching"), fact: "--no-binary :all:"},
	{question: "how do i check that pip is actually installed and working", want: on("getting-started.md", "Ensure you have a working pip"), fact: "pip --version"},
	{question: "where does pip download packages from by default", want: on("getting-started.md", "Install a package"), fact: "Python Package Index"},
	{question: "what does the part in square brackets like requests[security] mean", want: on("requirement-specifiers.md", "Overview"), fact: "optional dependencies"},
	{question: "are the sha256 hashes in pypi download links enough for --require-hashes", want: on("secure-installs.md", "Using hashes from PyPI (or other index servers)"), fact: "does not satisfy"},
	{question: "some dependencies get fetched by setuptools and skip the hash check", want: []section{{"secure-installs.md", "Repeatable installs"}, {"repeatable-installs.md", "Using a wheelhouse (AKA Installation Bundles)"}}, fact: "setup_requires"},
	{question: "pip install . leaves .egg-info junk in my source folder", want: on("local-project-installs.md", "Build artifacts"), fact: "litter the project directory"},
	{question: "what about flags like --verbose that don't take a value?", history: []string{"how do i set pip options with environment variables"}, want: on("configuration.md", "Environment Variables"), fact: "PIP_VERBOSE=3"},
	{question: "can i use pip without installing it at all?", history: []string{"how do i install pip if it's missing"}, want: on("installation.md", "Standalone zip application"), fact: "pip.pyz"},
	{question: "where does it put the cloned source?", history: []string{"install a package from a git repo in editable mode"}, want: on("vcs-support.md", "Editable VCS installs"), fact: "src/SomeProject"},
	{question: "how do i create a conda environment"},
	{question: "what time zone is sydney in"},
	{question: "how often should i water a cactus"},
}

// pinoBlind asks about the pino documentation (testdata/pino).
var pinoBlind = []qualityCase{
	{question: "logs missing from my aws lambda function", want: on("asynchronous.md", "AWS Lambda"), fact: "sync: true"},
	{question: "logger.flush doesn't make pino-pretty output show up", want: on("asynchronous.md", "Flush Limitations with `pino-pretty`"), fact: "separate worker thread"},
	{question: "reopen the log file after rotaton", want: on("help.md", "Reopening log files"), fact: "SIGHUP"},
	{question: "emoji look garbled in the windows terminal", want: on("help.md", "Unicode and Windows terminal"), fact: "chcp 65001"},
	{question: "the msg field in my object gets replaced by the message string", want: on("help.md", "Avoid Message Conflict"), fact: "originalMsg"},
	{question: "how do i check what my code logs in unit tests", want: on("help.md", "Testing"), fact: "pino-test"},
	{question: "my logged object has its own level field that clashes with pino's", want: []section{pinoOptions}, fact: "nestedKey"},
	{question: "get notified when someone changes the log level at runtime", want: on("api.md", "Event: 'level-change'"), fact: "level-change"},
	{question: "add a field to an existing logger after it was created", want: on("api.md", "`logger.setBindings(bindings)`"), fact: "setBindings"},
	{question: "pino.destination is not a fucntion in my react app", want: on("browser.md", "Node.js-only APIs"), fact: "Node.js only"},
	{question: "show the file and line of each log call in the browser console", want: on("browser.md", "`reportCaller` (Boolean)"), fact: "reportCaller"},
	{question: "logs lost when i call process.exit right after logging with a transport", want: on("transports.md", "Asynchronous startup"), fact: "transport.on('ready'"},
	{question: "does redacting fields slow pino down", want: on("redaction.md", "Overhead"), fact: "2% overhead"},
	{question: "logging middleware for koa", want: on("web.md", "Pino with Koa"), fact: "koa-pino-logger"},
	{question: "and how do i look at them in kibana?", history: []string{"how do i send my logs to elasticsearch"}, want: on("transports.md", "pino-elasticsearch"), fact: "index pattern"},
	{question: "is it expensive to create lots of those?", history: []string{"how do i add a module name to every log line"}, want: on("child-loggers.md", "Cost of child logging"), fact: "Child logger creation is fast"},
	{question: "can the paths come from a request parameter?", history: []string{"how do i redact passwords from logs"}, want: on("redaction.md", "Safety"), fact: "must not originate from user input"},
	{question: "how do i add a file transport to winston"},
	{question: "easy recipe for sourdough bread"},
	{question: "how do i change the oil in my car"},
}
