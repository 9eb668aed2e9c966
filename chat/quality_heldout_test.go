package chat

// chiHeldout and pipHeldout are a third held-out half, written blind on
// 2026-12-03 from the documents alone, after the dev, test and fresh
// halves had all been seen by people tuning the engine, and without
// running the engine on them. They were first scored after that round's
// engine changes were committed, and TestQuality holds them at that run
// (heldoutFloor*). Their misses have not been looked at: do not read them
// while tuning, or they stop measuring anything. Each has 15 ordinary questions, 3 misspelt, 3
// follow-ups and 3 off-topic ones, at least one of them near the
// corpus's topic (programming, networking or Python) but not in it.
var chiHeldout = []qualityCase{
	{question: "urls with double slashes like /users//42 don't match my routes", want: on("chi.md", "Core middlewares"), fact: "CleanPath"},
	{question: "my GET routes answer 405 to HEAD requests", want: on("chi.md", "Core middlewares"), fact: "GetHead"},
	{question: "serve /articles/1.json and /articles/1.xml from the same route", want: on("chi.md", "Core middlewares"), fact: "URLFormat"},
	{question: "what's the difference between r.Group and r.Route", want: on("chi.md", "Router interface"), fact: "fresh middleware stack"},
	{question: "check whether a method and path would hit a route without running the handler", want: on("chi.md", "Router interface"), fact: "Match searches the routing tree"},
	{question: "why does every request allocate 400 bytes in the benchmark results", want: on("chi.md", "Benchmarks"), fact: "WithContext(context.Context)"},
	{question: "is chi's tree code borrowed from another radix tree project", want: on("chi.md", "Credits"), fact: "go-radix"},
	{question: "collapse many identical concurrent requests into one call to the backend", want: on("chi.md", "Extra middlewares & packages"), fact: "stampede"},
	{question: "my app runs behind aws cloudfront, how do i get the visitor's real ip", want: []section{{"chi.md", "Choosing a ClientIP middleware"}, {"httprate.md", "Rate limit by client IP behind a proxy"}}, fact: "ClientIPFromXFF"},
	{question: "load an article from the database in a middleware and hand it to the handler", want: on("chi.md", "Examples"), fact: "ArticleCtx"},
	{question: "does chi support go modules", want: on("chi.md", "Features"), fact: "go.mod support"},
	{question: "which chi version do I need for the ClientIPFrom middlewares httprate relies on", want: []section{{"httprate.md", "Example"}, {"httprate.md", "Rate limit by client IP behind a proxy"}}, fact: "v5.3.0"},
	{question: "what interface do i implement to keep httprate counters in my own database", want: []section{{"httprate.md", ""}, {"httprate-redis.md", ""}}, fact: "LimitCounter"},
	{question: "hide the X-RateLimit-Increment header but keep the other ones", want: on("httprate.md", "Send custom response headers"), fact: `Increment: ""`},
	{question: "my frontend js can't read the Link response header on a cross-origin request", want: on("cors.md", "Usage"), fact: "ExposedHeaders"},
	{question: "basic auth midleware to pasword protect admin pages", want: on("chi.md", "Core middlewares"), fact: "BasicAuth"},
	{question: "httprate redis conection host and port", want: on("httprate-redis.md", "Example"), fact: "6379"},
	{question: "cors alow origins with a custom functon", want: on("cors.md", "Usage"), fact: "AllowOriginFunc"},
	{question: "and httprate's?", history: []string{"what's chi's license?"}, want: on("httprate.md", "LICENSE"), fact: "MIT"},
	{question: "and let the browser send cookies with requests?", history: []string{"how do i enable cors on my chi router"}, want: on("cors.md", "Usage"), fact: "AllowCredentials"},
	{question: "which RFC does that header follow?", history: []string{"which middleware adds a Deprecation header to a route"}, want: on("chi.md", "Core middlewares"), fact: "RFC 9745"},
	{question: "what's the difference between tcp and udp"},
	{question: "how do i write table driven tests in go"},
	{question: "how long should i boil an egg"},
}

var pipHeldout = []qualityCase{
	{question: "ignore every pip config file on this machine", want: on("configuration.md", "`PIP_CONFIG_FILE`"), fact: "os.devnull"},
	{question: "i exported PIP_NO_CACHE_DIR with an empty value and nothing changed", want: on("configuration.md", "Environment Variables"), fact: "set to an empty string"},
	{question: "can i move pip's cache with an xdg variable", want: on("caching.md", "Default paths"), fact: "XDG_CACHE_HOME"},
	{question: "does pip cache the wheels it builds from a git url", want: on("caching.md", "Locally built wheels"), fact: "immutable Git reference"},
	{question: "stop pip from building anything from source, wheels only", want: on("secure-installs.md", ""), fact: "--only-binary"},
	{question: "a package has both a wheel and an sdist, how do i get the hash of each", want: on("secure-installs.md", "Forcing Hash-checking mode"), fact: "pip hash"},
	{question: "do i still need a private index server if i use hash checking", want: on("repeatable-installs.md", "Hash-checking"), fact: "labour-saving alternative"},
	{question: "is a short commit hash ok in a git+ url", want: on("vcs-support.md", "Git"), fact: "full hash is preferable"},
	{question: "i pushed new commits but reinstalling from git doesn't update the installed package", want: on("vcs-support.md", "Editable VCS installs"), fact: "--upgrade"},
	{question: "my .netrc password has a space in it and pip can't log in", want: on("authentication.md", "netrc support"), fact: "not allowed in passwords"},
	{question: "can pip still build my local project in a temporary directory like older versions did", want: on("local-project-installs.md", "Build artifacts"), fact: "out-of-tree-build"},
	{question: "is pip supported on freebsd", want: on("installation.md", "Compatibility"), fact: "Other operating systems"},
	{question: "which pip release added the --python option", want: on("python-option.md", ""), fact: "22.3"},
	{question: "where is the full specification of the requirement format", want: on("requirement-specifiers.md", ""), fact: "508"},
	{question: "where does pip download packages from when i don't give it an index", want: on("getting-started.md", "Install a package"), fact: "Python Package Index"},
	{question: "wher does pip get its ssl certs from by defualt", want: on("https-certificates.md", ""), fact: "certifi"},
	{question: "requirment that only installs on windos", want: on("requirement-specifiers.md", "Examples"), fact: "sys_platform == 'win32'"},
	{question: "instal from a github pull reqest", want: on("vcs-support.md", "Git"), fact: "refs/pull/123/head"},
	{question: "and on windows?", history: []string{"where does pip cache downloads on a mac"}, want: on("caching.md", "Default paths"), fact: `%LocalAppData%\pip\Cache`},
	{question: "can i set that with an environment variable instead?", history: []string{"how do i use my company's CA bundle with pip"}, want: on("https-certificates.md", "Using a specific certificate store"), fact: "PIP_CERT"},
	{question: "what python version do i need for that?", history: []string{"how do i make pip use the system trust store"}, want: on("https-certificates.md", "Using system certificate stores"), fact: "Python 3.10"},
	{question: "what's the difference between a list and a tuple in python"},
	{question: "how do i read a csv file with pandas"},
	{question: "how many moons does jupiter have"},
}
