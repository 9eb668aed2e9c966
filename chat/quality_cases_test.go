package chat

// The questions TestQuality asks, per corpus, in two halves: the engine
// may be tuned on the development half only; the test half measures
// whether that tuning generalises. The questions of the foreign corpora
// were written from the documents as a user would ask them, before the
// engine was tuned on them, and the test halves are not changed after
// seeing results.
//
// A case with no want is off-topic: the documents do not cover it, and
// the answer must come with no sources. want lists every section that
// answers the question (two when the documents say the same thing
// twice); fact is a piece of text the answer must contain, compared
// without regard to case or runs of white space. history holds earlier
// user questions, oldest first: the harness asks them first and puts
// each with the engine's own answer into the history, as a chat would.

// qualityCase is one question of a quality corpus.
type qualityCase struct {
	question string
	history  []string
	want     []section // any of these is right; none for off-topic
	fact     string    // "" when only the sources are judged
}

// on is shorthand for one expected section.
func on(name, heading string) []section { return []section{{name, heading}} }

// chiDev and chiTest ask about the READMEs of chi, httprate, cors and
// httprate-redis (testdata/chi).
var chiDev = []qualityCase{
	{question: "how to add a middleware to a single route only", want: on("chi.md", "Router interface"), fact: "With adds inline middlewares"},
	{question: "what does the Heartbeat middleware do", want: on("chi.md", "Core middlewares"), fact: "Monitoring endpoint"},
	{question: "how do i write my own middleware", want: on("chi.md", "Middleware handlers"), fact: "func MyMiddleware"},
	{question: "does chi have external dependencies", want: on("chi.md", "Features"), fact: "No external dependencies"},
	{question: "how do i rate limit by ip and url path", want: on("httprate.md", "Rate limit by IP and URL path (aka endpoint)"), fact: "KeyByEndpoint"},
	{question: "return a custom json error when the key function fails", want: on("httprate.md", "Send specific response on errors"), fact: "WithErrorHandler"},
	{question: "custom header names for the rate limit headers", want: on("httprate.md", "Send custom response headers"), fact: "WithResponseHeaders"},
	{question: "which algorithm does httprate use", want: on("httprate.md", ""), fact: "Sliding Window Counter"},
	{question: "why is LimitByRealIP deprecated", want: on("httprate.md", ""), fact: "spoof"},
	{question: "ipv6 clients rotating addresses to bypass the limit", want: on("httprate.md", "Rate limit by client IP behind a proxy"), fact: "/64"},
	{question: "cors middlware inside a route group doesnt work", want: on("cors.md", ""), fact: "top-level middleware"},
	{question: "how do i get a request id for each request", want: on("chi.md", "Core middlewares"), fact: "RequestID"},
	{question: "what number do i pass to ClientIPFromXFFTrustedProxies", want: on("chi.md", "Choosing a ClientIP middleware"), fact: "numTrustedProxies"},
	{question: "what if I don't know the removal date yet?", history: []string{"how do I set the Sunset header"}, want: on("chi.md", "Deprecating and removing a route"), fact: "no removal date yet"},
	{question: "show me an example of using it", history: []string{"how to install the cors package"}, want: on("cors.md", "Usage"), fact: "cors.Handler"},
	{question: "which middleware gzips responses", want: on("chi.md", "Core middlewares"), fact: "Compress"},
	{question: "how does chi match routes internally", want: on("chi.md", "Router interface"), fact: "Radix trie"},
	// Added after the first round of tuning, from sections the questions
	// above do not ask about.
	{question: "how do i read a url parameter like userID in my handler", want: on("chi.md", "URL parameters"), fact: "chi.URLParam"},
	{question: "limit login attempts per username", want: on("httprate.md", "Rate limit by request payload"), fact: "RespondOnLimit"},
	{question: "change the body of the 429 response", want: on("httprate.md", "Send specific response for rate-limited requests"), fact: "WithLimitHandler"},
	{question: "how fast is chi compared to other routers", want: on("chi.md", "Benchmarks"), fact: "go-http-routing-benchmark"},
	{question: "what license is chi released under", want: on("chi.md", "License"), fact: "MIT"},
	{question: "recover from panics in my handlers", want: on("chi.md", "Core middlewares"), fact: "Recoverer"},
	{question: "what should a removed route return", want: on("chi.md", "Deprecating and removing a route"), fact: "410 Gone"},
	{question: "is there a jwt auth package for chi", want: on("chi.md", "Extra middlewares & packages"), fact: "jwtauth"},
	{question: "how to install chi", want: on("chi.md", "Install"), fact: "go get -u github.com/go-chi/chi/v5"},
	{question: "which backends does httprate support", want: on("httprate.md", "Backends"), fact: "in-memory"},
	{question: "put a value on the request context from a middleware", want: []section{{"chi.md", "Middleware handlers"}, {"chi.md", "Core middlewares"}}, fact: "WithValue"},
	{question: "and what does the default one send?", history: []string{"how do I change the response for rate-limited requests"}, want: on("httprate.md", "Send specific response for rate-limited requests"), fact: "Too Many Requests"},
	{question: "mount a sub router under /admin", want: []section{{"chi.md", "Router interface"}, {"chi.md", "Examples"}}, fact: "Mount"},
	{question: "custom handler for routes that are not found", want: []section{{"chi.md", "Router interface"}, {"chi.md", "Examples"}}, fact: "NotFound"},
	{question: "which middleware logs every request", want: on("chi.md", "Core middlewares"), fact: "Logger"},
	{question: "strip trailing slashes from paths", want: on("chi.md", "Core middlewares"), fact: "StripSlashes"},
	{question: "attach pprof to my router", want: on("chi.md", "Core middlewares"), fact: "Profiler"},
	{question: "what is the context package", want: on("chi.md", "context?"), fact: "signal context across call stacks"},
	{question: "alternatives to rest like grpc", want: on("chi.md", "Beyond REST"), fact: "gRPC"},
	{question: "what happens if the deprecation date does not parse", want: on("chi.md", "Deprecating and removing a route"), fact: "panics at startup"},
	{question: "allow every origin with cors", want: on("cors.md", "Usage"), fact: "AllowedOrigins"},
	{question: "and how long may browsers cache the preflight?", history: []string{"how do i configure cors"}, want: on("cors.md", "Usage"), fact: "MaxAge"},
	{question: "wildcard routes", want: on("chi.md", "Router interface"), fact: "/admin/*"},
	{question: "is chi used in production", want: on("chi.md", "Features"), fact: "in production at Pressly"},
	{question: "can chi generate documentation for my routes", want: []section{{"chi.md", "Features"}, {"chi.md", "Extra middlewares & packages"}}, fact: "docgen"},
	{question: "should I use Deprecation or Sunset", want: on("chi.md", "Deprecating and removing a route"), fact: "Add `Sunset` when you know the removal date"},
	{question: "cap the number of requests handled at once", want: on("chi.md", "Core middlewares"), fact: "Throttle"},
	{question: "respond to a wrong http method with my own handler", want: on("chi.md", "Router interface"), fact: "MethodNotAllowed"},
	{question: "and by url path too?", history: []string{"how do i rate limit by ip"}, want: on("httprate.md", "Rate limit by IP and URL path (aka endpoint)"), fact: "KeyByEndpoint"},
	{question: "and Throttle?", history: []string{"what does the Timeout middleware do"}, want: on("chi.md", "Core middlewares"), fact: "ceiling"},
	{question: "how do I read the value it sets in a handler?", history: []string{"how do i write my own middleware"}, want: on("chi.md", "Request handlers"), fact: "r.Context().Value"},
	{question: "midleware for compresion", want: on("chi.md", "Core middlewares"), fact: "Compress"},
	{question: "url paramaters in handlers", want: on("chi.md", "URL parameters"), fact: "chi.URLParam"},
	{question: "ratelimit login requests by usernme", want: on("httprate.md", "Rate limit by request payload"), fact: "RespondOnLimit"},
	{question: "how do i cook rice"},
	{question: "who painted the mona lisa"},
	{question: "how to make pancakes"},
	{question: "what's the weather in paris"},
	{question: "install tensorflow on windows"},
	{question: "write me a poem about cats"},
	{question: "how tall is mount everest"},
}

var chiTest = []qualityCase{
	{question: "how do i install chi?", want: on("chi.md", "Install"), fact: "go get -u github.com/go-chi/chi/v5"},
	{question: "what are the main features of chi?", want: on("chi.md", "Features"), fact: "Lightweight"},
	{question: "how can i read a url parameter like userID in my handler", want: on("chi.md", "URL parameters"), fact: `chi.URLParam(r, "userID")`},
	{question: "which middleware should i use behind cloudflare", want: []section{{"chi.md", "Choosing a ClientIP middleware"}, {"httprate.md", "Rate limit by client IP behind a proxy"}}, fact: "CF-Connecting-IP"},
	{question: "is the RealIP middleware safe to use?", want: []section{{"chi.md", "Choosing a ClientIP middleware"}, {"chi.md", "Core middlewares"}}, fact: "spoofing"},
	{question: "how do i limit the number of concurrent requests", want: on("chi.md", "Core middlewares"), fact: "Throttle"},
	{question: "how to rate limit login attempts by username", want: on("httprate.md", "Rate limit by request payload"), fact: "RespondOnLimit"},
	{question: "change the response body when a client is rate limited", want: on("httprate.md", "Send specific response for rate-limited requests"), fact: "WithLimitHandler"},
	{question: "how do i stop httprate from sending the X-RateLimit headers", want: on("httprate.md", "Omit response headers"), fact: "httprate.ResponseHeaders{}"},
	{question: "share the rate limit across several servers with redis", want: on("httprate-redis.md", "Example"), fact: "WithRedisLimitCounter"},
	{question: "cors allowed origins exmaple", want: on("cors.md", "Usage"), fact: "AllowedOrigins"},
	{question: "what happens if no ClientIPFrom middleware is installed before the limiter", want: on("httprate.md", "Rate limit by client IP behind a proxy"), fact: "single global rate-limit bucket"},
	{question: "and once it is removed?", history: []string{"how do i deprecate an old route?"}, want: on("chi.md", "Deprecating and removing a route"), fact: "410 Gone"},
	{question: "what about by a custom header?", history: []string{"how do I rate limit by IP and endpoint"}, want: on("httprate.md", "Rate limit by arbitrary keys"), fact: "X-Access-Token"},
	{question: "how fast is chi, any benchmarks?", want: on("chi.md", "Benchmarks"), fact: "BenchmarkChi_Param"},
	{question: "how do i bake sourdough bread"},
	{question: "who won the world cup in 2018"},
	{question: "what is the capital of australia"},
	{question: "how do i connect to a postgres database"},
	{question: "recommend a good sci-fi movie"},
}

// pipDev and pipTest ask about pages of the pip user guide (testdata/pip).
var pipDev = []qualityCase{
	{question: "upgrade pip to the latest version", want: on("installation.md", "Upgrading `pip`"), fact: "pip install --upgrade pip"},
	{question: "where is pip.conf on mac", want: on("configuration.md", "Location"), fact: "/Library/Application Support/pip/pip.conf"},
	{question: "use a different config file with an environment variable", want: on("configuration.md", "`PIP_CONFIG_FILE`"), fact: "PIP_CONFIG_FILE"},
	{question: "in what order are config files loaded", want: on("configuration.md", "Loading order"), fact: "`PIP_CONFIG_FILE`, if given"},
	{question: "netrc file example", want: on("authentication.md", "netrc support"), fact: "machine example.com"},
	{question: "use the system certificate store instead of certifi", want: on("https-certificates.md", "Using system certificate stores"), fact: "--use-feature=truststore"},
	{question: "point pip at a custom CA bundle", want: on("https-certificates.md", "Using a specific certificate store"), fact: "--cert"},
	{question: "difference between an editable and a regular install", want: []section{{"local-project-installs.md", ""}, {"local-project-installs.md", "Editable installs"}, {"local-project-installs.md", "Regular installs"}}, fact: "editable"},
	{question: "manage a venv that has no pip in it", want: on("python-option.md", ""), fact: "--python"},
	{question: "requirement that only applies to an older python version", want: on("requirement-specifiers.md", "Examples"), fact: "python_version"},
	{question: "offline install from a wheelhouse", want: on("repeatable-installs.md", "Using a wheelhouse (AKA Installation Bundles)"), fact: "--no-index"},
	{question: "why is the wheel cache disabled when using hashes", want: on("secure-installs.md", "Interaction with caching"), fact: "hash mismatch"},
	{question: "what to use instead of python setup.py install", want: on("secure-installs.md", "Do not use setuptools directly"), fact: "pip install --no-deps ."},
	{question: "see how big the cache is and where it is", want: on("caching.md", "General overview"), fact: "pip cache info"},
	{question: "can I have more than one hash per package?", history: []string{"how do i enable hash checking mode"}, want: on("secure-installs.md", "Multiple hashes per package"), fact: "multiple hashes"},
	{question: "and on linux?", history: []string{"where is the config file on windows"}, want: on("configuration.md", "Location"), fact: "$HOME/.config/pip/pip.conf"},
	{question: "uninstal a pakage", want: on("getting-started.md", "Uninstall a package"), fact: "pip uninstall"},
	{question: "which git url schemes are supported", want: on("vcs-support.md", "Git"), fact: "git+https"},
	// Added after the first round of tuning, from sections the questions
	// above do not ask about.
	{question: "my password has a slash in it, how do i put it in the index url", want: on("authentication.md", "Percent-encoding special characters"), fact: "%2F"},
	{question: "clear the whole pip cache", want: on("caching.md", "Removing the cache"), fact: "pip cache purge"},
	{question: "remove one package from the cache", want: on("caching.md", "Removing a single package"), fact: "pip cache remove"},
	{question: "turn off caching", want: on("caching.md", "Disabling caching"), fact: "--no-cache-dir"},
	{question: "install from a wheel file i downloaded", want: on("getting-started.md", "Install a package from a distribution file"), fact: ".whl"},
	{question: "install everything listed in requirements.txt", want: on("getting-started.md", "Install multiple packages using a requirements file"), fact: "pip install -r requirements.txt"},
	{question: "use a different timeout just for pip freeze in the config file", want: on("configuration.md", "Per-command section"), fact: "[freeze]"},
	{question: "install from a subversion repository", want: on("vcs-support.md", "Subversion"), fact: "svn+"},
	{question: "which python versions does pip work on", want: on("installation.md", "Compatibility"), fact: "CPython"},
	{question: "generate a requirements file with pinned versions", want: on("repeatable-installs.md", "Pinning the package versions"), fact: "pip freeze"},
	{question: "is md5 allowed for hashes", want: on("secure-installs.md", "Hash algorithms"), fact: "sha256"},
	{question: "package is in a subdirectory of the git repo", want: on("vcs-support.md", "URL fragments"), fact: "subdirectory"},
	{question: "and how do i delete them?", history: []string{"how do i list the cached files"}, want: []section{{"caching.md", "Removing the cache"}, {"caching.md", "Removing a single package"}}, fact: "pip cache"},
	{question: "what about mercurial?", history: []string{"install a package from github"}, want: on("vcs-support.md", "Mercurial"), fact: "hg+"},
	{question: "my private index only gives me a token, no password", want: on("authentication.md", "Basic HTTP authentication"), fact: "do not provide a password"},
	{question: "default cache folder on macos", want: on("caching.md", "Default paths"), fact: "~/Library/Caches/pip"},
	{question: "does pip cache http responses", want: on("caching.md", "HTTP responses"), fact: "web browser cache"},
	{question: "install straight from a github repo", want: on("getting-started.md", "Install a package from GitHub"), fact: "git+https://github.com"},
	{question: "upgrade an installed package", want: on("getting-started.md", "Upgrade a package"), fact: "pip install --upgrade"},
	{question: "make every install require hashes", want: on("secure-installs.md", "Forcing Hash-checking mode"), fact: "--require-hashes"},
	{question: "list several find-links urls in pip.conf", want: on("configuration.md", "Repeatable options"), fact: "find-links ="},
	{question: "bazaar url formats", want: on("vcs-support.md", "Bazaar"), fact: "bzr+"},
	{question: "install a project from a local folder for ci", want: on("local-project-installs.md", "Regular installs"), fact: "pip install path/to/SomeProject"},
	{question: "which command shows the cache directory?", history: []string{"where does pip store its cache"}, want: on("caching.md", "`pip cache dir`"), fact: "pip cache dir"},
	{question: "and the wheels pip built itself?", history: []string{"does pip cache http responses"}, want: on("caching.md", "Locally built wheels"), fact: "local wheel cache"},
	{question: "is the config file called pip.conf or pip.ini on windows", want: on("configuration.md", "Location"), fact: "pip.ini"},
	{question: "I added a hash to one requirement and now pip wants hashes for all of them", want: []section{{"secure-installs.md", "Hash-checking Mode"}, {"secure-installs.md", "Additional restrictions"}}, fact: "all-or-nothing"},
	{question: "do I have to pin versions when using hashes?", want: on("secure-installs.md", "Additional restrictions"), fact: "Requirements must be pinned"},
	{question: "and upgrade one?", history: []string{"how do I uninstall a package"}, want: on("getting-started.md", "Upgrade a package"), fact: "--upgrade"},
	{question: "and the cache?", history: []string{"where is pip.conf on linux"}, want: on("caching.md", "Default paths"), fact: "~/.cache/pip"},
	{question: "disable the cahce", want: on("caching.md", "Disabling caching"), fact: "--no-cache-dir"},
	{question: "mercurial suport", want: on("vcs-support.md", "Mercurial"), fact: "hg+"},
	{question: "requirments file with pinned versions", want: on("repeatable-installs.md", "Pinning the package versions"), fact: "pip freeze"},
	{question: "how to train a neural network"},
	{question: "cheap flights to tokyo"},
	{question: "how to bake a cake"},
	{question: "what's the score of the game tonight"},
	{question: "translate good morning to german"},
	{question: "best laptop for gaming"},
	{question: "how do i learn to swim"},
}

var pipTest = []qualityCase{
	{question: "where does pip store its cache on linux", want: on("caching.md", "Default paths"), fact: "~/.cache/pip"},
	{question: "how do i clear pip's cache", want: on("caching.md", "Removing the cache"), fact: "pip cache purge"},
	{question: "how to install pip if python doesnt have it", want: []section{{"installation.md", "Supported Methods"}, {"installation.md", "`ensurepip`"}}, fact: "ensurepip"},
	{question: "which python versions are supported", want: on("installation.md", "Compatibility"), fact: "3.7"},
	{question: "how do I put my password in the index url", want: on("authentication.md", "Basic HTTP authentication"), fact: "https://username:password@"},
	{question: "my password contains a slash", want: on("authentication.md", "Percent-encoding special characters"), fact: "%2F"},
	{question: "can pip use credentials from keyring", want: on("authentication.md", "Keyring Support"), fact: "keyring set"},
	{question: "set a timeout in the config file", want: []section{{"configuration.md", "Naming"}, {"configuration.md", "Per-command section"}}, fact: "timeout = 60"},
	{question: "what environment variable sets the default timeout", want: on("configuration.md", "Environment Variables"), fact: "PIP_DEFAULT_TIMEOUT"},
	{question: "which wins, a command line option or an environment variable?", want: on("configuration.md", "Precedence / Override order"), fact: "Command line options override environment variables"},
	{question: "certificate verify failed: unable to get local issuer certificate", want: on("https-certificates.md", "When to use"), fact: "truststore"},
	{question: "install my project in develop mode so my changes show up", want: on("local-project-installs.md", "Editable installs"), fact: "pip install -e"},
	{question: "how to pin versions in a requirements file", want: on("repeatable-installs.md", "Pinning the package versions"), fact: "SomePackage == 1.2.3"},
	{question: "what hash algorithm should i use with --require-hashes", want: on("secure-installs.md", "Hash algorithms"), fact: "sha256"},
	{question: "how do I pick a specific branch or tag?", history: []string{"how do I install from a git repo?"}, want: on("vcs-support.md", "Git"), fact: "@v1.0"},
	{question: "is that recommended?", history: []string{"how can i disable pip's cache"}, want: on("caching.md", "Disabling caching"), fact: "disable pip's caching unless"},
	{question: "instal pakage from requirments file", want: on("getting-started.md", "Install multiple packages using a requirements file"), fact: "pip install -r requirements.txt"},
	{question: "how do i train a neural network"},
	{question: "what's a good recipe for lasagna"},
	{question: "who is the president of france"},
	{question: "how to fix a flat bicycle tire"},
	{question: "install docker on ubuntu"},
}

// chiFresh and pipFresh were written blind, from the documents alone,
// after the engine's tuning on the development halves had ended and
// without running it: a held-out half that no change has seen.
var chiFresh = []qualityCase{
	{question: "minimal hello world server with chi", want: on("chi.md", "Examples"), fact: "chi.NewRouter()"},
	{question: "can i use a regex in a route pattern?", want: on("chi.md", "Examples"), fact: "{articleSlug:[a-z-]+}"},
	{question: "middleware to stop clients from cacheing my responses", want: on("chi.md", "Core middlewares"), fact: "NoCache"},
	{question: "reject requests that arent application/json", want: on("chi.md", "Core middlewares"), fact: "AllowContentType"},
	{question: "get the client ip as a netip.Addr", want: on("chi.md", "Choosing a ClientIP middleware"), fact: "GetClientIPAddr"},
	{question: "does ClientIPFromXFF overwrite r.RemoteAddr like RealIP did", want: on("chi.md", "Choosing a ClientIP middleware"), fact: "never mutate"},
	{question: "one rate limiter shared by all requests regardless of who sends them", want: on("httprate.md", "Example"), fact: `httprate.Key("*")`},
	{question: "my isp gives customers a /56, is CanonicalizeIP still ok?", want: on("httprate.md", "Rate limit by client IP behind a proxy"), fact: "widen the prefix"},
	{question: "is chi based on goji", want: on("chi.md", "Credits"), fact: "goji"},
	{question: "can i use httprate with gin instead of chi", want: on("httprate.md", "Rate limit by client IP behind a proxy"), fact: "isn't tied to chi"},
	{question: "can the default in-memory counter ever return an error", want: on("httprate.md", "Send specific response on errors"), fact: "guaranteed not return any errors"},
	{question: "how big is chi, lines of code?", want: []section{{"chi.md", ""}, {"chi.md", "Features"}}, fact: "1000 LOC"},
	{question: "what interface does that backend implement?", history: []string{"how do i share rate limits through redis"}, want: []section{{"httprate-redis.md", ""}, {"httprate.md", ""}}, fact: "httprate.LimitCounter"},
	{question: "and one for routing by request headers?", history: []string{"which chi middleware sets a response header"}, want: on("chi.md", "Core middlewares"), fact: "RouteHeaders"},
	{question: "who wrote the original version?", history: []string{"how do i install go-chi/cors"}, want: []section{{"cors.md", ""}, {"cors.md", "Credits"}}, fact: "github.com/rs"},
	{question: "how do i center a div in css"},
	{question: "configure nginx as a reverse proxy"},
	{question: "how to reverse a linked list in java"},
	{question: "when was the eiffel tower built"},
	{question: "whats the best pizza topping"},
}

var pipFresh = []qualityCase{
	{question: "no-cache-dir in pip.conf, do i set it true or false??", want: on("configuration.md", "Boolean options"), fact: "no-cache-dir = false"},
	{question: "list whats in the pip cache", want: on("caching.md", "Listing cached files"), fact: "pip cache list"},
	{question: "pip keeps reusing a cached wheel that was built without my C extensions", want: on("caching.md", "Avoiding caching"), fact: "--no-binary :all:"},
	{question: "install pip with get-pip", want: on("installation.md", "`get-pip.py`"), fact: "python get-pip.py"},
	{question: "can i run pip without installing it, like a pyz file", want: on("installation.md", "Standalone zip application"), fact: "pip.pyz"},
	{question: "i got pip from apt and it behaves differently than the docs", want: on("installation.md", "Alternative Methods"), fact: "relevant provider"},
	{question: "how do i check pip is installed", want: on("getting-started.md", "Ensure you have a working pip"), fact: "pip --version"},
	{question: "pip install . leaves .egg-info folders all over my project", want: on("local-project-installs.md", "Build artifacts"), fact: ".egg-info"},
	{question: "does the sha256 in pypi download urls count for --require-hashes", want: on("secure-installs.md", "Using hashes from PyPI (or other index servers)"), fact: "does not satisfy"},
	{question: "where does pip clone the repo for an editable git install", want: on("vcs-support.md", "Editable VCS installs"), fact: "src/SomeProject"},
	{question: "do i need qoutes around version specifiers", want: on("requirement-specifiers.md", "Examples"), fact: "Use quotes around specifiers in the shell"},
	{question: "what are extras in a requirement", want: on("requirement-specifiers.md", "Overview"), fact: "install optional dependencies"},
	{question: "do i need to reinstall every time i change the code?", history: []string{"how do i install my local project in editable mode"}, want: on("local-project-installs.md", "Editable installs"), fact: "re-installation if you change the project metadata"},
	{question: "does it have to be installed in the same venv as pip?", history: []string{"how do i use keyring with pip"}, want: on("authentication.md", "Keyring Support"), fact: "fallback to using any"},
	{question: "what about --verbose, it doesnt take a value", history: []string{"how do i set pip options with environment variables"}, want: on("configuration.md", "Environment Variables"), fact: "PIP_VERBOSE=3"},
	{question: "how do i install packages with npm"},
	{question: "how to rebase a git branch"},
	{question: "best hiking trails in colorado"},
	{question: "how do i file my taxes online"},
	{question: "what is the boiling point of water at high altitude"},
}
