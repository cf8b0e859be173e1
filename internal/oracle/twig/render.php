<?php
// render.php — render cases with the real Twig (php-twig, Debian's 3.5.1) the
// way Cerb configures it for automations: autoescape off, strict_variables
// off, variables from json_decode(..., true), timezone UTC.
//
// stdin:  a JSON array of {"id": "...", "template": "...", "vars": "<JSON object text>"}
// stdout: a JSON array of {"id", "output_b64" | "error_class"+"error", "warnings": [...]}
//         (output as base64 so that any bytes survive).
// Usage:  php render.php [AUTOLOAD] < cases.json > results.json
//         AUTOLOAD defaults to Debian's /usr/share/php/Twig/autoload.php; give Cerb's
//         vendor/autoload.php to render with the Twig Cerb bundles (3.6.2).
error_reporting(E_ALL);
ini_set('display_errors', '0');
date_default_timezone_set('UTC');
mb_internal_encoding('UTF-8');
require $argv[1] ?? '/usr/share/php/Twig/autoload.php';

$warnings = [];
set_error_handler(function ($no, $str) use (&$warnings) {
	$warnings[] = $str;
	return true; // PHP's own handler prints nothing; execution continues as without a handler
});

// Error messages may name Twig's files: hide where Twig is installed.
$twigDir = dirname((new ReflectionClass(\Twig\Environment::class))->getFileName());

$in = json_decode(stream_get_contents(STDIN), true);
if (!is_array($in)) { fwrite(STDERR, "render.php: stdin is not a JSON array\n"); exit(2); }
$out = [];
foreach ($in as $c) {
	$warnings = [];
	$r = ['id' => $c['id']];
	$vars = json_decode($c['vars'] === '' ? '{}' : $c['vars'], true);
	if (!is_array($vars)) { $vars = []; $warnings[] = 'vars: not a JSON object'; }
	try {
		$twig = new \Twig\Environment(new \Twig\Loader\ArrayLoader(['t' => $c['template']]),
			['autoescape' => false, 'strict_variables' => false, 'cache' => false]);
		$twig->getExtension(\Twig\Extension\CoreExtension::class)->setTimezone('UTC');
		$r['output_b64'] = base64_encode($twig->render('t', $vars));
	} catch (\Throwable $e) {
		$r['error_class'] = get_class($e);
		$r['error'] = str_replace($twigDir, '{TWIG}', $e->getMessage());
	}
	$r['warnings'] = array_values(array_unique($warnings));
	$out[] = $r;
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
