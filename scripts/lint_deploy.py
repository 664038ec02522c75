"""The checks behind scripts/lint-deploy (run it through that script: it installs the tools).

Each check is a function named check_*; a failed assertion fails that check only, so one run
reports every problem. The closing line reads "lint-deploy: N passed, N failed".
"""

import glob
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from xml.sax.saxutils import escape

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
OUT = ROOT / "target" / "lint-deploy"
HEALTH_PATH = "/healthz"
DUMMY_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/skyhigh-dev:lint-deploy"


# ---- CloudFormation YAML: short-form intrinsics (!Ref, !Sub, …) as plain dicts ----------------
class CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_cfn(path):
    return yaml.load(Path(path).read_text(), Loader=CfnLoader)


def templates():
    return sorted(p for p in glob.glob(str(ROOT / "infra" / "*.y*ml")))


def main_template():
    return load_cfn(ROOT / "infra" / "skyhigh.yaml")


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kw)


# ---- the checks ------------------------------------------------------------------------------
def check_hadolint():
    r = run([str(VENV_BIN / "hadolint"), "--failure-threshold", "warning", "Dockerfile"])
    assert r.returncode == 0, f"hadolint:\n{r.stdout}{r.stderr}"


def check_cfn_lint():
    files = templates()
    assert files, "no templates in infra/"
    r = run([str(VENV_BIN / "cfn-lint"), *files])
    assert r.returncode == 0, f"cfn-lint {' '.join(files)}:\n{r.stdout}{r.stderr}"
    return f"{len(files)} template(s)"


def dockerfile_lines():
    return (ROOT / "Dockerfile").read_text().splitlines()


def check_dockerfile_layout():
    lines = dockerfile_lines()
    assert not any(re.match(r"#\s*syntax\s*=", l, re.I) for l in lines), "the Dockerfile must have no '# syntax=' line"
    stages = [(i, l) for i, l in enumerate(lines) if re.match(r"FROM\s", l, re.I)]
    names = [re.search(r"\bAS\s+(\S+)", l, re.I).group(1) if re.search(r"\bAS\s", l, re.I) else None for _, l in stages]
    assert "runtime-prebuilt" in names, "no runtime-prebuilt stage"
    rust = [k for k, (_, l) in enumerate(stages) if re.search(r"rust", l, re.I)]
    assert rust, "no Rust builder stage"
    assert names.index("runtime-prebuilt") < rust[0], "runtime-prebuilt must come before the FROM rust… stage"
    text = "\n".join(lines)
    assert re.search(r"^ARG RUNTIME_BASE=debian:bookworm-slim$", text, re.M), "ARG RUNTIME_BASE=debian:bookworm-slim"
    assert re.search(r"^FROM \$\{RUNTIME_BASE\}", text, re.M), "the runtime base must come from ARG RUNTIME_BASE"
    assert re.search(r'CMD \["/usr/local/bin/skyhigh", "healthcheck"\]', text), "HEALTHCHECK must run skyhigh healthcheck"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", users[-1]), f"USER must be numeric and not 0: {users}"
    assert re.search(r"^EXPOSE 8080$", text, re.M), "EXPOSE 8080"
    assert re.search(r'^VOLUME \["/data"\]$', text, re.M), 'VOLUME ["/data"]'
    for env in ("SKYHIGH_ADDR=0.0.0.0:8080", "SKYHIGH_COOKIE_SECURE=true", "SKYHIGH_DATA_DIR=/data"):
        assert env in text, f"ENV {env}"
    assert re.search(r"^COPY .*skyhigh /usr/local/bin/skyhigh$", text, re.M), "runtime-prebuilt copies the binary"


def check_dockerignore():
    lines = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines[0] == "*", ".dockerignore is an allowlist starting with '*'"
    allowed = {l[1:].rstrip("/") for l in lines if l.startswith("!")}
    # Everything the builder stage COPYs must be allowed back in.
    copied = set()
    for l in dockerfile_lines():
        m = re.match(r"COPY\s+(?!--from)(?:--\S+\s+)*(.+)\s+\S+$", l)
        if m:
            copied.update(m.group(1).split())
    copied.discard("skyhigh")  # runtime-prebuilt: its own build context
    missing = sorted(c for c in copied if c.rstrip("/") not in allowed)
    assert not missing, f".dockerignore leaves out what the Dockerfile copies: {missing}"
    for never in ("target", "data", ".venv", "node_modules", ".git"):
        assert never not in allowed, f"{never} must stay out of the build context"


def buildspec():
    return yaml.safe_load((ROOT / "buildspec.yml").read_text())


def buildspec_commands(spec):
    for phase in spec.get("phases", {}).values():
        for cmd in phase.get("commands", []) + phase.get("finally", []):
            yield cmd


def check_buildspec_schema():
    schema = json.loads((ROOT / "infra" / "schema" / "buildspec.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(buildspec()), key=lambda e: list(e.path))
    assert not errors, "buildspec.yml: " + "; ".join(f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors)


def check_buildspec_steps():
    spec = buildspec()
    assert spec["version"] in (0.2, "0.2")
    cmds = list(buildspec_commands(spec))
    first_words = [shlex.split(c, comments=True)[0] for c in cmds if shlex.split(c, comments=True)]
    assert "scripts/test" in first_words, "buildspec.yml must run scripts/test (the README's test command)"
    assert any(re.search(r"\bcargo deny check advisories\b", c) for c in cmds), "cargo deny check advisories"
    assert any(re.search(r"cargo build --release --locked", c) for c in cmds), "a release build"
    assert any("docker push" in c for c in cmds), "the image is pushed"
    assert "scripts/container-test target/release/skyhigh" in cmds, "the shipped binary is container-tested"
    assert any(re.search(r"--target runtime-prebuilt", c) for c in cmds), "the pushed image is the tested binary"
    bundles = [shlex.split(c) for c in cmds if c.startswith("scripts/eb-bundle ")]
    assert len(bundles) == 1, "buildspec.yml calls scripts/eb-bundle once"
    assert spec["artifacts"]["base-directory"] == bundles[0][2], "the artifact is the directory eb-bundle wrote"
    paths = spec["cache"]["paths"]
    assert any("cargo/registry" in p for p in paths) and any(p.startswith("target/") for p in paths), \
        "cache the cargo registry and target/"
    order = list(spec["phases"])
    assert order == sorted(order, key=["install", "pre_build", "build", "post_build"].index), f"phase order {order}"


def bundle_dir():
    if "--bundle" in sys.argv:
        return Path(sys.argv[sys.argv.index("--bundle") + 1]).resolve(), None
    out = OUT / "bundle"
    r = run(["scripts/eb-bundle", DUMMY_IMAGE, str(out)])
    assert r.returncode == 0, f"scripts/eb-bundle failed:\n{r.stdout}{r.stderr}"
    return out, DUMMY_IMAGE


def ebextension_options(root):
    """Option settings from every .ebextensions/*.config: {(namespace, option): value}."""
    options = {}
    configs = sorted((root / ".ebextensions").glob("*.config"))
    for path in configs:
        doc = yaml.safe_load(path.read_text()) or {}
        settings = doc.get("option_settings", {})
        if isinstance(settings, dict):
            for ns, opts in settings.items():
                for name, value in opts.items():
                    options[(ns, name)] = str(value)
        else:
            for s in settings:
                options[(s["namespace"], s["option_name"])] = str(s["value"])
    return configs, options


def check_bundle_layout():
    root, image = bundle_dir()
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    has_compose, has_dockerrun = "docker-compose.yml" in files, "Dockerrun.aws.json" in files
    assert has_compose or has_dockerrun, f"bundle has neither docker-compose.yml nor Dockerrun.aws.json: {files}"
    assert any(f.startswith((".ebextensions/", ".platform/")) for f in files), "bundle has no .ebextensions/ or .platform/"
    assert not any(f.endswith((".rs", "Cargo.toml", "Dockerfile")) for f in files), "the bundle must not build from source"
    for f in files:
        if f.endswith(".json"):
            json.loads((root / f).read_text())
        elif f.endswith((".yml", ".yaml", ".config")):
            yaml.safe_load((root / f).read_text())
        elif f.startswith(".platform/") and f.endswith(".sh"):
            assert os.access(root / f, os.X_OK), f"{f} must be executable"
    if has_compose:
        compose = yaml.safe_load((root / "docker-compose.yml").read_text())
        (name, service), = compose["services"].items()
        if image:
            assert service["image"] == image, f"compose names {service['image']}, not {image}"
        assert re.fullmatch(r"\S+\.dkr\.ecr\.\S+/\S+:\S+", service["image"]), f"not an ECR image: {service['image']}"
        assert "build" not in service, "instances must not build"
        assert "80:8080" in service["ports"], "the ALB's port 80 reaches the app's 8080"
        assert service["healthcheck"]["test"] == ["CMD", "/usr/local/bin/skyhigh", "healthcheck"]
        assert service.get("read_only") is True and service.get("cap_drop") == ["ALL"] and service.get("init") is True
        assert ".env" in service.get("env_file", []), "Beanstalk's environment properties reach the container"
    else:
        dockerrun = json.loads((root / "Dockerrun.aws.json").read_text())
        assert dockerrun.get("AWSEBDockerrunVersion") in (1, 3, "1", "3")
    configs, options = ebextension_options(root)
    assert configs, "no .ebextensions/*.config"
    assert options.get(("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")) == HEALTH_PATH
    assert options.get(("aws:elasticbeanstalk:application", "Application Healthcheck URL")) == HEALTH_PATH
    return f"{len(files)} files: {', '.join(files)}"


def beanstalk_options_in_template():
    env = main_template()["Resources"]["Environment"]["Properties"]["OptionSettings"]
    return {(o["Namespace"], o["OptionName"]): o["Value"] for o in env}


def check_beanstalk_settings_agree():
    _, ours = ebextension_options(ROOT)
    cfn = beanstalk_options_in_template()
    for key, value in ours.items():
        if key in cfn and isinstance(cfn[key], str):
            assert cfn[key] == value, f"{key}: infra says {cfn[key]!r}, .ebextensions says {value!r}"
    for options, where in ((ours, ".ebextensions"), (cfn, "infra/skyhigh.yaml")):
        assert options.get(("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")) == HEALTH_PATH, where
        assert options.get(("aws:elasticbeanstalk:environment:proxy", "ProxyServer")) == "none", f"{where}: nginx off"
        assert options.get(("aws:elasticbeanstalk:command", "DeploymentPolicy")) == "RollingWithAdditionalBatch", where
        assert options.get(("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs")) == "true", where
        keepalive = options.get(("aws:elasticbeanstalk:application:environment", "SKYHIGH_KEEPALIVE_SECS"))
        idle = options.get(("aws:elbv2:loadbalancer", "IdleTimeout"))
        assert keepalive and idle and int(keepalive) > int(idle), \
            f"{where}: SKYHIGH_KEEPALIVE_SECS ({keepalive}) must be set and exceed the ALB's IdleTimeout ({idle})"
    env = {k[1]: v for k, v in cfn.items() if k[0] == "aws:elasticbeanstalk:application:environment"}
    for name in ("SKYHIGH_BACKEND", "SKYHIGH_TABLE_PREFIX", "SKYHIGH_BUCKET", "SKYHIGH_MEDIA_URL", "SKYHIGH_EVENTS_TOPIC",
                 "SKYHIGH_DELIVERY_QUEUE", "SKYHIGH_CLOUDFRONT_DISTRIBUTION", "SKYHIGH_TRUSTED_PROXIES",
                 "SKYHIGH_COOKIE_SECURE", "SKYHIGH_BASE_URL", "SKYHIGH_KEEPALIVE_SECS"):
        assert name in env, f"the environment sets no {name}"


def code_gsis():
    """The main table's indexes as src/storage/aws/resources.rs defines them."""
    text = (ROOT / "src" / "storage" / "aws" / "resources.rs").read_text()
    block = re.search(r"pub const GSIS[^=]*=\s*\[(.*?)\];", text, re.S).group(1)
    return {m[0]: (m[1], m[2], "N" if m[3] == "true" else "S")
            for m in re.findall(r'\("(\w+)",\s*"(\w+)",\s*"(\w+)",\s*(true|false)\)', block)}


def check_tables_match_code():
    res = main_template()["Resources"]
    main = res["MainTable"]["Properties"]
    types = {a["AttributeName"]: a["AttributeType"] for a in main["AttributeDefinitions"]}
    keys = {k["KeyType"]: k["AttributeName"] for k in main["KeySchema"]}
    assert keys == {"HASH": "pk", "RANGE": "sk"} and types["pk"] == types["sk"] == "S"
    template_gsis = {}
    for g in main["GlobalSecondaryIndexes"]:
        ks = {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}
        template_gsis[g["IndexName"]] = (ks["HASH"], ks["RANGE"], types[ks["RANGE"]])
        assert types[ks["HASH"]] == "S" and g["Projection"]["ProjectionType"] == "ALL", g["IndexName"]
    assert template_gsis == code_gsis(), f"infra {template_gsis} != code {code_gsis()}"
    used = {a for k in list(template_gsis.values()) for a in k[:2]} | {"pk", "sk"}
    assert set(types) == used, f"attribute definitions {sorted(types)} != key attributes {sorted(used)}"
    text = (ROOT / "src" / "storage" / "aws" / "resources.rs").read_text()
    ttl = re.search(r'SESSION_TTL_ATTRIBUTE: &str = "(\w+)"', text).group(1)
    sid = re.search(r'SESSION_ID: &str = "(\w+)"', text).group(1)
    sessions = res["SessionsTable"]["Properties"]
    assert sessions["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
    creating = (ROOT / "src" / "storage" / "aws" / "create.rs").read_text()
    create_main = re.search(r"async fn main_table.*?\n}\n", creating, re.S).group(0)
    if "enable_ttl" in create_main or "update_time_to_live" in create_main:
        assert main.get("TimeToLiveSpecification") == {"AttributeName": ttl, "Enabled": True}, \
            "the code turns on TTL for the main table; so must infra"
    assert sessions["KeySchema"] == [{"AttributeName": sid, "KeyType": "HASH"}]
    for t in (main, sessions):
        assert t["BillingMode"] == "PAY_PER_REQUEST" and t["DeletionProtectionEnabled"] is True
        assert t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert main["TableName"] == {"Fn::Sub": "skyhigh-${Stage}-main"}
    assert sessions["TableName"] == {"Fn::Sub": "skyhigh-${Stage}-sessions"}
    return f"{len(template_gsis)} indexes as in resources.rs"


def application_actions():
    """Every action of the one application policy, InstanceRolePolicy."""
    policy = main_template()["Resources"]["InstanceRolePolicy"]["Properties"]["PolicyDocument"]
    actions = []
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow", st.get("Sid")
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in res, f"{st.get('Sid')}: Resource '*'"
        actions += acts
    return actions


def check_application_policy():
    actions = application_actions()
    wild = [a for a in actions if "*" in a]
    assert not wild, f"wildcard actions: {wild}"
    create = [a for a in actions if a.split(":")[1].startswith("Create") and a != "cloudfront:CreateInvalidation"]
    assert not create, f"resources come from the template, not the app: {create}"
    others = [n for n, r in main_template()["Resources"].items()
              if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy")
              and n not in ("InstanceRolePolicy", "InstancePlatformPolicy")]
    role = main_template()["Resources"]["InstanceRole"]["Properties"]
    assert "Policies" not in role and "ManagedPolicyArns" not in role, "the instance role's permissions live in the two policy resources"
    assert not [o for o in others if "InstanceRole" in json.dumps(main_template()["Resources"][o])], others
    return f"{len(actions)} actions: {' '.join(sorted(set(actions)))}"


# Which client variable names which service, in the Rust code that calls the AWS SDK.
SDK_CLIENTS = {"dynamodb": "dynamodb", "s3": "s3", "sns": "sns", "sqs": "sqs", "ses": "ses", "cloudfront": "cloudfront"}
# SDK operations whose IAM action is not simply the operation's name in PascalCase.
IAM_EXCEPTIONS = {
    # A transaction is authorised by its items' own actions (TRANSACTION_ELEMENTS below); it
    # has no action of its own.
    "dynamodb:TransactWriteItems": None,
    # HeadBucket needs list permission on the bucket.
    "s3:HeadBucket": "s3:ListBucket",
    # SQS's batch calls are authorised by their single-message actions.
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
}
# The elements of a DynamoDB transaction (`aws_sdk_dynamodb::types::Put::builder()` …), each
# authorised by its own item action.
TRANSACTION_ELEMENTS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
# Development-only code: creating resources (SKYHIGH_CREATE_RESOURCES); production's role
# must have none of these calls.
DEV_ONLY_SOURCES = {"src/storage/aws/create.rs"}


def sdk_operations():
    """Every AWS SDK operation the code calls, as (IAM action, file): the calls are fluent
    builders on a client, `client.operation()`, possibly split over lines."""
    found = []
    for path in sorted(ROOT.glob("src/**/*.rs")):
        relative = str(path.relative_to(ROOT))
        code = re.sub(r"//[^\n]*", "", path.read_text())
        flat = re.sub(r"\s+", "", code)
        for client, op in re.findall(r"\b(" + "|".join(SDK_CLIENTS) + r")\.([a-z][a-z0-9_]*)\(\)", flat):
            if op in ("clone", "config"):
                continue
            name = "".join(part.capitalize() for part in op.split("_"))
            action = f"{SDK_CLIENTS[client]}:{name}"
            action = IAM_EXCEPTIONS.get(action, action)
            if action:
                found.append((action, relative))
        if "aws_sdk_dynamodb::types::" in flat:
            for element in re.findall(r"\b(" + "|".join(TRANSACTION_ELEMENTS) + r")::builder\(\)", flat):
                found.append((f"dynamodb:{TRANSACTION_ELEMENTS[element]}", relative))
    return found


def check_iam_matches_code():
    calls = sdk_operations()
    assert calls, "found no AWS SDK calls in src/: the pattern no longer matches the code"
    needed = {a for a, f in calls if f not in DEV_ONLY_SOURCES}
    dev_only = {a for a, f in calls if f in DEV_ONLY_SOURCES} - needed
    granted = set(application_actions())
    missing = sorted(needed - granted)
    unused = sorted(granted - needed)
    forbidden = sorted(granted & dev_only)
    assert not missing, f"the code calls what the instance role may not: {missing}"
    assert not unused, f"the instance role may do what the code never calls: {unused}"
    assert not forbidden, f"the instance role may create resources: {forbidden}"
    return f"{len(needed)} actions the code calls, all granted and nothing more; {len(dev_only)} development-only left out"


def check_drafts_expire():
    """Draft uploads (issue 15): the bucket's lifecycle rule removes what the code writes under
    its drafts prefix, the app's role may write there, and CloudFront may not read there."""
    code = (ROOT / "src" / "domain" / "draft.rs").read_text()
    prefix = re.search(r'pub const DRAFTS_PREFIX: &str = "([^"]+)";', code)
    assert prefix, "DRAFTS_PREFIX not found in src/domain/draft.rs"
    prefix = prefix.group(1)
    resources = main_template()["Resources"]
    bucket = resources["MediaBucket"]["Properties"]
    rules = [r for r in bucket["LifecycleConfiguration"]["Rules"]
             if r.get("Prefix") == prefix or r.get("Filter", {}).get("Prefix") == prefix]
    assert rules, f"no lifecycle rule on {prefix} in MediaBucket"
    assert rules[0]["Status"] == "Enabled" and rules[0].get("ExpirationInDays"), rules[0]
    assert any(rule["AllowedMethods"] == ["POST"] for rule in bucket["CorsConfiguration"]["CorsRules"]), \
        "browsers POST drafts to the bucket: MediaBucket needs a CORS rule for POST"
    policy = json.dumps(resources["InstanceRolePolicy"]["Properties"]["PolicyDocument"])
    assert f"${{MediaBucket.Arn}}/{prefix}*" in policy, f"the instance role cannot write {prefix}"
    statements = resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    reads = json.dumps([st for st in statements if st["Effect"] == "Allow"])
    assert f"/{prefix}" not in reads and "${MediaBucket.Arn}/*" not in reads, "CloudFront must not serve drafts"
    return f"{prefix} expires after {rules[0]['ExpirationInDays']} day(s)"


CHECKS = [
    check_hadolint,
    check_dockerfile_layout,
    check_dockerignore,
    check_cfn_lint,
    check_buildspec_schema,
    check_buildspec_steps,
    check_bundle_layout,
    check_beanstalk_settings_agree,
    check_tables_match_code,
    check_application_policy,
    check_iam_matches_code,
    check_drafts_expire,
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        start = time.monotonic()
        try:
            note = check()
            results.append((name, time.monotonic() - start, None))
            print(f"ok    {name}" + (f" ({note})" if note else ""))
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the run fails
            message = f"{type(e).__name__}: {e}" if not isinstance(e, AssertionError) else str(e) or "assertion failed"
            results.append((name, time.monotonic() - start, message))
            print(f"FAIL  {name}: {message}")
    failed = [r for r in results if r[2]]
    cases = "".join(
        f'<testcase classname="lint-deploy" name="{n}" time="{t:.3f}">'
        + (f'<failure message="{escape(m[:200], {chr(34): "&quot;"})}">{escape(m)}</failure>' if m else "")
        + "</testcase>"
        for n, t, m in results
    )
    (OUT / "junit.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><testsuite name="lint-deploy" tests="{len(results)}" '
        f'failures="{len(failed)}">{cases}</testsuite>\n'
    )
    print(f"lint-deploy: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
