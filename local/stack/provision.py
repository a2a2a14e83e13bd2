"""Create, in the local AWS, the resources the template declares; find them if they already exist.

Each supported type maps its CloudFormation properties onto the API call that creates it, so
the table, key and secret carry the template's own settings (key schema, TTL, rotation, the
secret's generated field). Physical names are `<stack>-<LogicalId>`, as CloudFormation would
derive them, unless the template names the resource itself. Running twice changes nothing
but the secret's client secret, which is the value of this run.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .aws import DEFAULT_REGION, LocalAws
from .intrinsics import PhysicalResource, Resolver
from .template import ResourceSpec, Template, TemplateError

STACK_NAME = "local"  # what AWS::StackName is locally; prefixes every physical name
TABLE = "AWS::DynamoDB::Table"
KEY = "AWS::KMS::Key"
ALIAS = "AWS::KMS::Alias"
SECRET = "AWS::SecretsManager::Secret"
QUEUE = "AWS::SQS::Queue"

# The properties each type's creator reads; only these are resolved, so a property the local
# stack ignores (tags, say) may refer to anything.
USED_PROPERTIES = {
    TABLE: (
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "ProvisionedThroughput",
        "TableClass",
        "DeletionProtectionEnabled",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "SSESpecification",
        "StreamSpecification",
        "TimeToLiveSpecification",
        "PointInTimeRecoverySpecification",
    ),
    KEY: ("Description", "KeyUsage", "KeySpec", "KeyPolicy", "EnableKeyRotation"),
    ALIAS: ("TargetKeyId",),
    SECRET: ("Description", "SecretString", "GenerateSecretString"),
    QUEUE: ("QueueName", "MessageRetentionPeriod", "VisibilityTimeout", "SqsManagedSseEnabled"),
}

LOG = logging.getLogger(__name__)


def physical_name(resource: ResourceSpec) -> str:
    explicit = {TABLE: "TableName", SECRET: "Name", ALIAS: "AliasName", QUEUE: "QueueName"}.get(resource.type)
    if explicit and isinstance(resource.properties.get(explicit), str):
        return resource.properties[explicit]
    name = f"{STACK_NAME}-{resource.logical_id}"
    return f"alias/{name}" if resource.type == KEY else name  # a key is found again by its alias


def stable_references(
    template: Template, resolver: Resolver, region: str | None, account_id: str
) -> dict[str, PhysicalResource]:
    """References that do not depend on what a run generates, for config written ahead of time.

    A key is referred to by its alias ARN and a secret by its name: KMS and Secrets Manager
    accept both wherever they accept the ARN, and neither changes between runs. Without a
    region (config for whichever region it runs in) a key is its alias name, which KMS also takes.
    """
    references = {}
    for resource in _provisionable(template, resolver):
        name = physical_name(resource)
        if resource.type == TABLE:
            arn = f"arn:aws:dynamodb:{region or DEFAULT_REGION}:{account_id}:table/{name}"
            references[resource.logical_id] = PhysicalResource(name, {"Arn": arn})
        elif resource.type in (KEY, ALIAS):
            arn = f"arn:aws:kms:{region}:{account_id}:{name}" if region else name
            references[resource.logical_id] = PhysicalResource(
                arn if resource.type == KEY else name, {"Arn": arn, "KeyId": arn}
            )
        elif resource.type == SECRET:
            references[resource.logical_id] = PhysicalResource(name, {"Id": name})
    return references


def provision(
    template: Template, resolver: Resolver, aws: LocalAws, secret_fields: Mapping[str, str]
) -> dict[str, PhysicalResource]:
    """Create what is missing; record each resource's Ref/GetAtt values in `resolver`.

    `secret_fields` are written into every JSON secret whose template has that key
    (the PagerDuty client secret goes into the field the template leaves as a placeholder).
    """
    creators: dict[str, Callable[..., PhysicalResource]] = {
        TABLE: _table,
        KEY: _key,
        ALIAS: _alias,
        SECRET: lambda r, props, aws: _secret(r, props, aws, secret_fields),
        QUEUE: _queue,
    }
    created = {}
    for resource in _in_dependency_order(_provisionable(template, resolver)):
        properties = resolver.resolve(_used_properties(resource))
        physical = creators[resource.type](resource, properties, aws)
        resolver.with_resource(resource.logical_id, physical)
        created[resource.logical_id] = physical
        LOG.debug("%s ready: %s", resource.logical_id, physical.ref)
    return created


def _provisionable(template: Template, resolver: Resolver) -> list[ResourceSpec]:
    return [r for r in template.resources_of_type(*USED_PROPERTIES) if resolver.is_created(r.logical_id)]


def _used_properties(resource: ResourceSpec) -> dict[str, Any]:
    return {k: v for k, v in resource.properties.items() if k in USED_PROPERTIES[resource.type]}


def _in_dependency_order(resources: list[ResourceSpec]) -> list[ResourceSpec]:
    """A key before the table or secret encrypted with it, and so on."""
    by_id = {r.logical_id: r for r in resources}
    ordered: list[ResourceSpec] = []
    visiting: set[str] = set()

    def visit(resource: ResourceSpec) -> None:
        if resource in ordered:
            return
        if resource.logical_id in visiting:
            raise TemplateError(f"{resource.logical_id} depends on itself")
        visiting.add(resource.logical_id)
        for name in _referenced_names(_used_properties(resource)) & by_id.keys():
            visit(by_id[name])
        ordered.append(resource)

    for resource in resources:
        visit(resource)
    return ordered


def _referenced_names(value: Any) -> set[str]:
    if isinstance(value, list):
        return set().union(*map(_referenced_names, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    names = set()
    for key, argument in value.items():
        if key == "Ref" and isinstance(argument, str):
            names.add(argument)
        elif key == "Fn::GetAtt":
            names.add(argument[0] if isinstance(argument, list) else argument.split(".")[0])
        elif key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            names.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
        names |= _referenced_names(argument)
    return names


def _table(resource: ResourceSpec, props: Mapping[str, Any], aws: LocalAws) -> PhysicalResource:
    dynamodb = aws.client("dynamodb")
    name = physical_name(resource)
    try:
        description = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        description = dynamodb.create_table(TableName=name, **_table_arguments(props))["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    ttl = props.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled"):
        status = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    pitr = props.get("PointInTimeRecoverySpecification") or {}
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    attributes = {"Arn": description["TableArn"]}
    if description.get("LatestStreamArn"):
        attributes["StreamArn"] = description["LatestStreamArn"]
    return PhysicalResource(name, attributes)


def _table_arguments(props: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable arguments from the CloudFormation properties (mostly the same shapes)."""
    arguments = {
        key: props[key]
        for key in (
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "TableClass",
            "DeletionProtectionEnabled",
        )
        if key in props
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            # CloudFormation-only index settings have no CreateTable counterpart.
            arguments[key] = [
                {k: v for k, v in index.items() if k != "ContributorInsightsSpecification"} for index in props[key]
            ]
    if "SSESpecification" in props:
        sse = dict(props["SSESpecification"])
        sse["Enabled"] = sse.pop("SSEEnabled", False)  # CloudFormation's name for the API's Enabled
        arguments["SSESpecification"] = sse
    if "StreamSpecification" in props:
        arguments["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return arguments


def _key(resource: ResourceSpec, props: Mapping[str, Any], aws: LocalAws) -> PhysicalResource:
    kms = aws.client("kms")
    alias = physical_name(resource)
    try:
        metadata = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        arguments = {k: props[k] for k in ("Description", "KeyUsage", "KeySpec") if k in props}
        if "KeyPolicy" in props:
            arguments["Policy"] = json.dumps(props["KeyPolicy"])
        metadata = kms.create_key(**arguments)["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return PhysicalResource(metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})


def _alias(resource: ResourceSpec, props: Mapping[str, Any], aws: LocalAws) -> PhysicalResource:
    kms = aws.client("kms")
    name = physical_name(resource)
    try:
        kms.describe_key(KeyId=name)
    except kms.exceptions.NotFoundException:
        kms.create_alias(AliasName=name, TargetKeyId=props["TargetKeyId"])
    return PhysicalResource(name)


def _queue(resource: ResourceSpec, props: Mapping[str, Any], aws: LocalAws) -> PhysicalResource:
    sqs = aws.client("sqs")
    name = physical_name(resource)
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in ("MessageRetentionPeriod", "VisibilityTimeout", "SqsManagedSseEnabled")
        if key in props
    }
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # returns the existing one
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return PhysicalResource(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def _secret(
    resource: ResourceSpec, props: Mapping[str, Any], aws: LocalAws, fields: Mapping[str, str]
) -> PhysicalResource:
    secretsmanager = aws.client("secretsmanager")
    name = physical_name(resource)
    try:
        arn = secretsmanager.describe_secret(SecretId=name)["ARN"]
        current = secretsmanager.get_secret_value(SecretId=name)["SecretString"]
    except secretsmanager.exceptions.ResourceNotFoundException:
        arn, current = None, None
    value = _secret_value(props, current, fields, lambda options: _random_password(secretsmanager, options))
    if arn is None:
        arguments = {"Name": name, "SecretString": value}
        if "Description" in props:
            arguments["Description"] = props["Description"]
        arn = secretsmanager.create_secret(**arguments)["ARN"]
    elif value != current:
        secretsmanager.put_secret_value(SecretId=arn, SecretString=value)
    return PhysicalResource(arn, {"Id": arn})


def _secret_value(
    props: Mapping[str, Any],
    current: str | None,
    fields: Mapping[str, str],
    generate: Callable[[Mapping[str, Any]], str],
) -> str:
    """The secret's value: the template's shape, its generated field kept across runs, `fields` set."""
    if "SecretString" in props:
        template_text = props["SecretString"]
        generated_key, options = None, {}
    else:
        options = props.get("GenerateSecretString") or {}
        template_text = options.get("SecretStringTemplate")
        generated_key = options.get("GenerateStringKey")
    if template_text is None:  # a plain generated string
        return current if current is not None else generate(options)
    try:
        value = json.loads(template_text)
        previous = json.loads(current) if current else {}
    except ValueError:
        return template_text if current is None else current  # not JSON: nothing to fill in
    if generated_key:
        value[generated_key] = previous.get(generated_key) or generate(options)
    for key, field_value in fields.items():
        if key in value:
            value[key] = field_value
    return json.dumps(value)


def _random_password(secretsmanager: Any, options: Mapping[str, Any]) -> str:
    # GetRandomPassword takes the same option names as GenerateSecretString.
    names = (
        "PasswordLength",
        "ExcludeCharacters",
        "ExcludeNumbers",
        "ExcludePunctuation",
        "ExcludeUppercase",
        "ExcludeLowercase",
        "IncludeSpace",
        "RequireEachIncludedType",
    )
    arguments = {name: options[name] for name in names if name in options}
    try:
        return secretsmanager.get_random_password(**arguments)["RandomPassword"]
    except ClientError as exc:
        raise TemplateError(f"GenerateSecretString options rejected: {exc}") from exc


# The secrets whose generated `signing_key` the functions read, and the setting naming each.
SIGNING_KEY_SECRETS = {"LinkSigningKey": "LINK_SIGNING_KEY_ID", "ResultSigningKey": "RESULT_SIGNING_KEY_ID"}


def provision_in_this_process(
    template: Template, secret_value: Mapping[str, str], signing_keys: Mapping[str, str] | None = None
) -> dict[str, str]:
    """For tests and benchmarks under moto's in-process mock: create what the template declares
    through the default boto3 endpoints, put `secret_value` (JSON) into the client secret and each
    of `signing_keys` ({"LinkSigningKey": key, ...}) into that secret's `signing_key`, and return
    the functions' settings that name the resources (TABLE_NAME, TOKEN_KEY_ID, CLIENT_SECRET_ID,
    LINK_SIGNING_KEY_ID, RESULT_SIGNING_KEY_ID)."""
    from .atomic_dynamodb import make_moto_item_writes_atomic
    from .runner import pseudo_parameters  # runner imports this module: import it here

    make_moto_item_writes_atomic()
    local = LocalAws(endpoint_url=None, region="us-east-1", account_id="123456789012", embedded=True)
    created = provision(template, Resolver(template, pseudo_parameters=pseudo_parameters(local)), local, {})
    secretsmanager = local.client("secretsmanager")
    secret_id = created["ClientSecret"].ref
    secretsmanager.put_secret_value(SecretId=secret_id, SecretString=json.dumps(dict(secret_value)))
    names = {
        "TABLE_NAME": created["ConnectTable"].ref,
        "TOKEN_KEY_ID": created["TokenKey"].attributes["Arn"],
        "CLIENT_SECRET_ID": secret_id,
    }
    for logical_id, setting in SIGNING_KEY_SECRETS.items():
        if logical_id in created:
            names[setting] = created[logical_id].ref
            if signing_keys and logical_id in signing_keys:
                value = json.dumps({"signing_key": signing_keys[logical_id]})
                secretsmanager.put_secret_value(SecretId=names[setting], SecretString=value)
    return names
