"""Cognito locally: the template's user pools, app clients and groups created in moto (its
CloudFormation does not know them), and API Gateway's Cognito authorizer emulated for the local API.

moto signs its tokens with one key pair that ships with it; its public half is the JWKS document
moto serves at `/<pool id>/.well-known/jwks.json`, loaded here from moto's resources.
"""

from dataclasses import dataclass, field
from typing import Any

import boto3
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from supportpilot.local.template import Template, logical_id_of

REGION = "eu-west-1"
USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP = "AWS::Cognito::UserPoolGroup"
_POOL_SETTINGS = ("UsernameAttributes", "AutoVerifiedAttributes", "AdminCreateUserConfig", "Policies")


@dataclass(frozen=True)
class LocalUserPool:
    logical_id: str
    pool_id: str
    arn: str
    clients: dict[str, str] = field(default_factory=dict)  # logical id -> client id

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    @property
    def client_ids(self) -> list[str]:
        return list(self.clients.values())

    def references(self) -> dict[str, dict[str, str]]:
        """What `!Ref` and `!GetAtt` of the pool and its clients resolve to."""
        pool = {"Ref": self.pool_id, "Arn": self.arn, "ProviderName": self.issuer.removeprefix("https://")}
        return {self.logical_id: pool} | {name: {"Ref": client_id} for name, client_id in self.clients.items()}


def create_user_pools(template: Template, stack_name: str) -> dict[str, LocalUserPool]:
    """Pools with the template's settings, then their clients and groups."""
    cognito = boto3.client("cognito-idp")
    pools: dict[str, LocalUserPool] = {}
    for name in template.logical_ids_of_type(USER_POOL):
        props = template.resources[name].get("Properties", {})
        settings = {key: props[key] for key in _POOL_SETTINGS if key in props}
        pool = cognito.create_user_pool(PoolName=f"{stack_name}-{name}", **settings)["UserPool"]
        pools[name] = LocalUserPool(name, pool["Id"], pool["Arn"])
    for name in template.logical_ids_of_type(USER_POOL_CLIENT):
        props = template.resources[name]["Properties"]
        pool = pools[logical_id_of(props["UserPoolId"])]
        client = cognito.create_user_pool_client(
            UserPoolId=pool.pool_id,
            ClientName=props.get("ClientName", name),
            GenerateSecret=bool(props.get("GenerateSecret", False)),
            ExplicitAuthFlows=props.get("ExplicitAuthFlows", []),
        )["UserPoolClient"]
        pool.clients[name] = client["ClientId"]
    for name in template.logical_ids_of_type(USER_POOL_GROUP):
        props = template.resources[name]["Properties"]
        cognito.create_group(UserPoolId=pools[logical_id_of(props["UserPoolId"])].pool_id, GroupName=props["GroupName"])
    return pools


def create_operator(pool: LocalUserPool, email: str, group: str, password: str) -> None:
    """A confirmed user with a permanent password, in one group: what an admin does in AWS."""
    cognito = boto3.client("cognito-idp")
    cognito.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=email, GroupName=group)


def sign_in(pool: LocalUserPool, email: str, password: str) -> str:
    """The ID token the console sends in the Authorization header."""
    response = boto3.client("cognito-idp").initiate_auth(
        ClientId=pool.client_ids[0],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return response["AuthenticationResult"]["IdToken"]


class CognitoAuthorizer:
    """What API Gateway's Cognito user pool authorizer does: accept a valid, unexpired ID token of
    the pool issued to one of its app clients, and hand its claims to the function as strings."""

    def __init__(self, pool: LocalUserPool):
        from moto.utilities.utils import load_resource

        self._pool = pool
        self._keys = KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))
        self._claims_registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": pool.issuer},
            aud={"essential": True, "values": pool.client_ids},
            token_use={"essential": True, "value": "id"},
            exp={"essential": True},
            sub={"essential": True},
        )

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The claims as the proxy event carries them, or None: the request is answered 401."""
        if not authorization:
            return None
        raw = authorization.removeprefix("Bearer ").strip()
        try:
            token = jwt.decode(raw, self._keys, algorithms=["RS256"])
            self._claims_registry.validate(token.claims)
        except (JoseError, ValueError):
            return None
        return {name: _as_api_gateway_string(value) for name, value in token.claims.items()}


def _as_api_gateway_string(value: Any) -> str:
    """REST API authorizers pass every claim as a string; a list reads "[agent supervisor]"."""
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)
