package chat

// pinoDev and pinoTest ask about ten pages of the documentation of pino,
// a JSON logger for Node.js (testdata/pino: the README and nine pages of
// docs/, from the npm package pino 10.4.0, MIT). The questions were
// written blind on 2026-12-03, from the documents only, before the
// engine was run on this corpus; the test half is not to be tuned on.

// Sections of api.md that several questions want.
var (
	pinoOptions     = section{"api.md", "`options` (Object)"}
	pinoLogParams   = section{"api.md", "Logging Method Parameters"}
	pinoChild       = section{"api.md", "`logger.child(bindings, [options]) => logger`"}
	pinoDestination = section{"api.md", "`pino.destination([opts]) => SonicBoom`"}
	pinoTransport   = section{"api.md", "`pino.transport(options) => ThreadStream`"}
	pinoMultistream = section{"api.md", "`pino.multistream(streamsArray, opts) => MultiStreamRes`"}
	pinoLevelFilter = section{"transports.md", "How level filtering works with transports"}
)

var pinoDev = []qualityCase{
	{question: "how do i hide passwords in my logs", want: []section{{"redaction.md", ""}, pinoOptions}, fact: "redact"},
	{question: "keys with dashes in redact paths", want: []section{{"redaction.md", ""}, {"redaction.md", "Path Syntax"}}, fact: "bracket"},
	{question: "what log levels are there and their numbers", want: []section{{"api.md", "`logger.level` (String) [Getter/Setter]"}, {"api.md", "`logger.levels` (Object)"}}, fact: "fatal"},
	{question: "add my own custom log level", want: []section{pinoOptions}, fact: "customLevels"},
	{question: "print the level as a word like info instead of 30", want: []section{{"help.md", "Log levels as labels instead of numbers"}, pinoOptions}, fact: "formatters"},
	{question: "log rotation", want: on("help.md", "Log rotation"), fact: "logrotate"},
	{question: "send errors to stderr and everything else to stdout", want: []section{{"help.md", "Log to different streams"}, pinoMultistream}, fact: "process.stderr"},
	{question: "why is my multistrem not logging debug messages", want: []section{pinoMultistream, {"help.md", "Log to different streams"}}, fact: "lowest level"},
	{question: "pretty print logs durign development", want: []section{{"readme.md", "Development Formatting"}, {"transports.md", "Notable transports"}}, fact: "pino-pretty"},
	{question: "can i lose logs if the server loses power in async mode", want: on("asynchronous.md", "Caveats"), fact: "power cut"},
	{question: "how do i write my own transport", want: on("transports.md", "Writing a Transport"), fact: "pino-abstract-transport"},
	{question: "debug logs dont reach my transport target", want: []section{pinoLevelFilter}, fact: "logger.level"},
	{question: "write a transport in typescript", want: on("transports.md", "TypeScript compatibility"), fact: ".mts"},
	{question: "log to stdout and to a custom transport at the same time", want: on("transports.md", "Writing to a custom transport & stdout"), fact: "destination: 1"},
	{question: "send logs to grafana loki", want: []section{{"transports.md", "pino-loki"}, {"help.md", "Using Grafana Loki to evaluate pino logs in a kubernetes cluster"}}, fact: "pino-loki"},
	{question: "add a module name to every log line from one file", want: []section{{"child-loggers.md", ""}, pinoChild}, fact: ".child("},
	{question: "same key in parent and child logger, which one wins", want: on("child-loggers.md", "Duplicate keys caveat"), fact: "last value"},
	{question: "add a field that is computed at log time to every line", want: []section{pinoOptions}, fact: "mixin"},
	{question: "timestamps in iso formt", want: []section{pinoOptions, {"api.md", "`pino.stdTimeFunctions` (Object)"}}, fact: "isoTime"},
	{question: "logger.info('hello', 'world') only prints hello", want: []section{pinoLogParams}, fact: "concatenate"},
	{question: "check if debug is enabled before building an expensive message", want: on("api.md", "`logger.isLevelEnabled(level)`"), fact: "isLevelEnabled"},
	{question: "in the browser log objects instead of passing args to console", want: on("browser.md", "`asObject` (Boolean)"), fact: "asObject"},
	{question: "use pino with express", want: on("web.md", "Pino with Express"), fact: "pino-http"},
	{question: "which node versions does pino 8 support", want: on("lts.md", "Schedule"), fact: "14, 16, 18, 20"},
	{question: "a lot of my dependencies use the debug module, can pino capture that", want: on("help.md", "Pino with `debug`"), fact: "pino-debug"},
	{question: "only show error lines from the log output on the command line", want: on("help.md", "Log Filtering"), fact: "jq"},
	{question: "does fatal write immediately", want: on("api.md", "`logger.fatal([mergingObject], [message], [...interpolationValues])`"), fact: "sync flush"},
	{question: "roll over to a new log file every day from inside node", want: on("transports.md", "pino-roll"), fact: "frequency: 'daily'"},
	{question: "transform log lines in a chain before they get written", want: []section{{"transports.md", "Creating a transport pipeline"}, pinoTransport}, fact: "pipeline"},
	{question: "rename the msg key to message", want: []section{pinoOptions, {"help.md", "Mapping Pino Log Levels to Google Cloud Logging (Stackdriver) Severity Levels"}}, fact: "messageKey"},
	{question: "which printf placeholders can i use in messages", want: []section{pinoLogParams}, fact: "%d"},
	{question: "ship browser logs to my backend", want: on("browser.md", "`transmit` (Object)"), fact: "send"},
	{question: "fastify logging", want: on("web.md", "Pino with Fastify"), fact: "request.log"},
	{question: "we are stuck on node 14, which pino should we use", want: on("lts.md", "Supported Node.js versions"), fact: "8.x"},
	{question: "put a tag like [HTTP] in front of every message", want: []section{pinoOptions, pinoChild}, fact: "msgPrefix"},
	{question: "buffer log writes instead of writing every line", want: []section{{"asynchronous.md", ""}, pinoDestination}, fact: "minLength"},
	{question: "can i replace it with my own text instead of [Redacted]?", history: []string{"how do i redact sensitive fields"}, want: []section{{"redaction.md", ""}, pinoOptions}, fact: "censor"},
	{question: "and asynchronously?", history: []string{"how do i log to a file"}, want: []section{{"asynchronous.md", ""}, pinoDestination}, fact: "sync: false"},
	{question: "is it tested on windows too?", history: []string{"which node versions does pino support"}, want: on("lts.md", "CI tested operating systems"), fact: "windows-latest"},
	{question: "how many calories are in a banana"},
	{question: "who wrote pride and prejudice"},
	{question: "set up log4j in a spring boot app"},
}

var pinoTest = []qualityCase{
	{question: "redact with a function that depends on the path", want: []section{pinoOptions}, fact: "(value, path)"},
	{question: "does wildcard redaction slow things down", want: on("redaction.md", "Overhead"), fact: "50%"},
	{question: "are redact paths case sensitive", want: on("redaction.md", "Path Syntax"), fact: "case sensitive"},
	{question: "what does the silent level do", want: on("api.md", "`logger.level` (String) [Getter/Setter]"), fact: "disable all logging"},
	{question: "only use my custom levels and drop the built in ones", want: []section{pinoOptions}, fact: "useOnlyCustomLevels"},
	{question: "google cloud logging shows every entry as INFO", want: on("help.md", "Mapping Pino Log Levels to Google Cloud Logging (Stackdriver) Severity Levels"), fact: "severity"},
	{question: "reopen the log file after logrotate moved it", want: on("help.md", "Reopening log files"), fact: "dest.reopen()"},
	{question: "write logs to several files at once", want: []section{{"help.md", "Saving to multiple files"}, pinoMultistream}, fact: "multistream"},
	{question: "only send each line to the highest matching stream, not all of them", want: []section{pinoMultistream, pinoLevelFilter}, fact: "dedupe"},
	{question: "logger.flush doesnt flush pino-pretty output", want: on("asynchronous.md", "Flush Limitations with `pino-pretty`"), fact: "worker thread"},
	{question: "logs go missing on aws lambda", want: on("asynchronous.md", "AWS Lambda"), fact: "sync: true"},
	{question: "different minimum level for each transport target", want: []section{{"transports.md", "v7+ Transports"}, pinoLevelFilter, pinoTransport}, fact: "targets"},
	{question: "logs lost when i call process.exit right after starting", want: on("transports.md", "Asynchronous startup"), fact: "ready"},
	{question: "transport keeps spawning workers when loaded with node --import", want: on("transports.md", "Using transports with `--import` or `--require` preloads"), fact: "execArgv"},
	{question: "pino/file create the folder if it doesn't exist", want: on("transports.md", "Notable transports"), fact: "mkdir"},
	{question: "ship logs to elasticsarch and kibana", want: on("transports.md", "pino-elasticsearch"), fact: "pino-elasticsearch"},
	{question: "relay logs to a syslog server", want: on("transports.md", "pino-syslog"), fact: "pino-socket"},
	{question: "is creating lots of child loggers expensive", want: on("child-loggers.md", "Cost of child logging"), fact: "creation is fast"},
	{question: "my logged object has a level property that clashes with pino's own", want: []section{pinoOptions}, fact: "nestedKey"},
	{question: "get rid of hostname and pid in the output", want: []section{pinoOptions}, fact: "base"},
	{question: "log an error object with its stack trace", want: []section{pinoLogParams}, fact: "new Error"},
	{question: "msg in my object gets overwritten by the message string", want: []section{{"help.md", "Avoid Message Conflict"}, pinoLogParams}, fact: "logMethod"},
	{question: "get notified when someone changes the log level", want: on("api.md", "Event: 'level-change'"), fact: "level-change"},
	{question: "pino.destination is not a function in the browser", want: on("browser.md", "Node.js-only APIs"), fact: "Node.js only"},
	{question: "show file and line number of the log call in the browser console", want: on("browser.md", "`reportCaller` (Boolean)"), fact: "reportCaller"},
	{question: "logging in koa", want: on("web.md", "Pino with Koa"), fact: "koa-pino-logger"},
	{question: "nestjs integration", want: on("web.md", "Pino with Nest"), fact: "nestjs-pino"},
	{question: "how long is a major version supported", want: on("lts.md", "Long Term Support"), fact: "six months"},
	{question: "how do i install pino with yarn", want: on("readme.md", "Install"), fact: "yarn add pino"},
	{question: "is pino faster than other loggers", want: on("readme.md", "Low overhead"), fact: "5x"},
	{question: "accented characters look garbled in wndows powershell", want: on("help.md", "Unicode and Windows terminal"), fact: "chcp 65001"},
	{question: "pipe my logs to a transport in a systemd service", want: on("help.md", "Transports and systemd"), fact: "/bin/sh -c"},
	{question: "forbid certain fields in log calls with typescript", want: on("api.md", "Module Augmentation"), fact: "LogFnFields"},
	{question: "see all the bindings a child logger carries", want: on("api.md", "`logger.bindings()`"), fact: "bindings()"},
	{question: "can it have a different level than the parent?", history: []string{"how do i create a child logger"}, want: []section{pinoChild}, fact: "level: 'debug'"},
	{question: "and with a plain node http server?", history: []string{"how do i use pino with express"}, want: on("web.md", "Pino with Node core `http`"), fact: "http.createServer"},
	{question: "and can i switch it off there?", history: []string{"how do i use pino in the browser"}, want: on("browser.md", "`disabled` (Boolean)"), fact: "disabled: true"},
	{question: "translate good morning into spanish"},
	{question: "how do i fix a flat bike tire"},
	{question: "python logging basicConfig example"},
}
