package chat

// chiMismatch and pipMismatch are a development split aimed at
// vocabulary mismatch: questions a user would type in their own words
// where the documents use others ("visitor ip" for client IP, "throttle"
// for rate limit, "wipe" for purge, "mirror" for package index), with
// some casual phrasing, a few typos, follow-ups and off-topic questions.
// They were written on 2026-12-03 from the documents alone, without
// running the engine on them, and the engine may be tuned on them.

// chiMismatch asks about the READMEs of chi, httprate, cors and
// httprate-redis (testdata/chi) in words the documents do not use.
var chiMismatch = []qualityCase{
	{question: "how do i get the visitor's ip address inside a handler", want: on("chi.md", "Choosing a ClientIP middleware"), fact: "GetClientIP"},
	{question: "throttle each client to 100 calls a minute", want: []section{{"httprate.md", "Example"}, {"httprate.md", "Rate limit by client IP behind a proxy"}}, fact: "httprate.LimitBy"},
	{question: "let the browser send cookies on cross domain requests", want: on("cors.md", "Usage"), fact: "AllowCredentials"},
	{question: "which response headers can javascript on another site read", want: on("cors.md", "Usage"), fact: "ExposedHeaders"},
	{question: "health check url for my load balancer", want: on("chi.md", "Core middlewares"), fact: "Heartbeat"},
	{question: "kill requests that take too long", want: []section{{"chi.md", "Core middlewares"}, {"chi.md", "Examples"}}, fact: "Timeout"},
	{question: "password protect a couple of admin pages", want: on("chi.md", "Core middlewares"), fact: "BasicAuth"},
	{question: "curl -I gives me 405 but GET on the same path works", want: on("chi.md", "Core middlewares"), fact: "GetHead"},
	{question: "reject uploads whose body isn't gzip or deflate encoded", want: on("chi.md", "Core middlewares"), fact: "AllowContentEncoding"},
	{question: "send each subdomain to a different router", want: on("chi.md", "Extra middlewares & packages"), fact: "hostrouter"},
	{question: "warn api consumers that an endpoint is going away soon", want: on("chi.md", "Deprecating and removing a route"), fact: "Deprecation"},
	{question: "my app runs on 3 pods and each one counts hits on its own", want: []section{{"httprate-redis.md", "Example"}, {"httprate.md", ""}}, fact: "redis"},
	{question: "allow cors preflght for PUT and DELETE", want: on("cors.md", "Usage"), fact: "AllowedMethods"},
	{question: "recieve the real client addres behind nginx", want: []section{{"chi.md", "Choosing a ClientIP middleware"}, {"httprate.md", "Rate limit by client IP behind a proxy"}}, fact: "ClientIPFromHeader"},
	{question: "midleware that adds a respone header to everything", want: on("chi.md", "Core middlewares"), fact: "SetHeader"},
	{question: "my logs show addresses like ::ffff:1.2.3.4, does chi normalize those?", want: on("chi.md", "Choosing a ClientIP middleware"), fact: "folded to plain IPv4"},
	{question: "what happens if redis goes down?", history: []string{"share my request quotas between servers"}, want: on("httprate.md", "Send specific response on errors"), fact: "fall-back to the local in-memory counter"},
	{question: "we sit behind aws cloudfront, which one then?", history: []string{"what's the right way to find out the ip of whoever calls my api"}, want: on("chi.md", "Choosing a ClientIP middleware"), fact: "ClientIPFromXFF"},
	{question: "and nest them under a path prefix?", history: []string{"how do I make a bunch of routes share the same middleware"}, want: []section{{"chi.md", "Router interface"}, {"chi.md", "Examples"}}, fact: "sub-router"},
	{question: "how do i reverse a string in python"},
	{question: "best way to learn spanish quickly"},
	{question: "how many calories are in a banana"},
}

// pipMismatch asks about pages of the pip user guide (testdata/pip) in
// words the documents do not use.
var pipMismatch = []qualityCase{
	{question: "make pip always download from our company's internal mirror instead of pypi", want: on("configuration.md", "Naming"), fact: "index-url"},
	{question: "pip ignores the root certificates my IT department installed on the os", want: []section{{"https-certificates.md", "Using system certificate stores"}, {"https-certificates.md", "When to use"}}, fact: "truststore"},
	{question: "pip is eating gigabytes of disk, how do i wipe all its stored stuff", want: on("caching.md", "Removing the cache"), fact: "pip cache purge"},
	{question: "shoud i pass --no-cache-dir in my dockerfile", want: on("caching.md", "Disabling caching"), fact: "layered caches in container builds"},
	{question: "stop someone from sneaking a malicious upload in under the same version number", want: []section{{"repeatable-installs.md", "Hash-checking"}, {"secure-installs.md", "Hash-checking Mode"}}, fact: "--hash"},
	{question: "only install a dependency when the machine runs windows", want: on("requirement-specifiers.md", "Examples"), fact: "sys_platform == 'win32'"},
	{question: "requre at least 1.2 but stay below the next major release", want: on("requirement-specifiers.md", "Examples"), fact: ">= 1.2, < 2.0"},
	{question: "keep my private index password in the macos keychain instead of plain text", want: on("authentication.md", "Keyring Support"), fact: "keyring"},
	{question: "is a short sha good enough when installing from a particular git commit", want: on("vcs-support.md", "Git"), fact: "full hash"},
	{question: "insall a library from an unmerged pull reqest", want: on("vcs-support.md", "Git"), fact: "refs/pull/123/head"},
	{question: "does pip compile numpy from source again on every install", want: on("caching.md", "Locally built wheels"), fact: "instead of rebuilding"},
	{question: "where do i put settings that only affect one virtualenv", want: on("configuration.md", "Location"), fact: "$VIRTUAL_ENV/pip.conf"},
	{question: "run pip with none of my settings applied, a clean slate", want: on("configuration.md", "`PIP_CONFIG_FILE`"), fact: "os.devnull"},
	{question: "refuse to build anything from source tarballs for security reasons", want: on("secure-installs.md", ""), fact: "--only-binary :all:"},
	{question: "make sure pip installs nothing beyond what my requirements file lists", want: on("repeatable-installs.md", "Pinning the package versions"), fact: "--no-deps"},
	{question: "reinstalling from the repo url doesn't pick up the new commits", want: on("vcs-support.md", "Editable VCS installs"), fact: "--upgrade"},
	{question: "can i copy that bundle to a windows box?", history: []string{"install packages on a machine with no internet access"}, want: on("repeatable-installs.md", "Using a wheelhouse (AKA Installation Bundles)"), fact: "not necessarily portable"},
	{question: "does that also work for poetry or flit projects?", history: []string{"install my package so code edits take effect right away"}, want: on("local-project-installs.md", "Editable installs"), fact: "non-setuptools build-backends"},
	{question: "what if i'm on freebsd?", history: []string{"which versions of python can i use pip with"}, want: on("installation.md", "Compatibility"), fact: "not supported"},
	{question: "how do i center text in microsoft word"},
	{question: "a good stretching routine for back pain"},
	{question: "how do i sort an array in javascript"},
}
