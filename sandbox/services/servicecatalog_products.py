"""The boot catalog: the "ML Platform" portfolio and Control Tower's Account Factory.

Product parameters mirror the templates of the reference architecture (amazon-sagemaker-secure-mlops:
env-sagemaker-studio.yaml, project-model-build-train.yaml, project-model-deploy.yaml) and Control
Tower's Account Factory product. Each template also lists the resources it creates and which
parameters feed which property, so a provisioned-product plan can preview the change.
"""
from __future__ import annotations

from sandbox.core.org_layout import HOME_REGION, MANAGEMENT_ACCOUNT_ID, PORTAL_ROLE
from sandbox.core.registry import seeder
from sandbox.services.servicecatalog_model import (
    ACCOUNT_FACTORY_TYPE, PARTITION, associate_principal, associate_product, new_artifact, new_portfolio,
    new_product,
)

ML_PLATFORM_PORTFOLIO = "ML Platform"
ACCOUNT_FACTORY_PORTFOLIO = "AWS Control Tower Account Factory Portfolio"
ACCOUNT_FACTORY_PRODUCT = "AWS Control Tower Account Factory"
SAGEMAKER_LAUNCH_ROLE = "service-role/AmazonSageMakerServiceCatalogProductsLaunchRole"
CONTROL_TOWER_LAUNCH_ROLE = "service-role/AWSControlTowerAdmin"
NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
PROJECT_NAME_PATTERN = "^[a-zA-Z](-*[a-zA-Z0-9])*"
EMAIL_PATTERN = r"[^\s@]+@[^\s@]+\.[^\s@]+"
ENVIRONMENTS = ["dev", "test", "prod"]
STUDIO_INSTANCE_TYPES = ["ml.t3.medium", "ml.t3.large", "ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge",
                         "ml.g4dn.xlarge"]
ENDPOINT_INSTANCE_TYPES = ["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large", "ml.g4dn.xlarge"]


def param(key: str, description: str, *, type_: str = "String", default: str | None = None,
          allowed: list[str] | None = None, pattern: str | None = None, constraint: str | None = None,
          min_length: int | None = None, max_length: int | None = None, no_echo: bool = False) -> dict:
    """A ProvisioningArtifactParameter as DescribeProvisioningParameters returns it (constraints as strings)."""
    constraints = {"AllowedValues": allowed or []}
    for name, value in (("AllowedPattern", pattern), ("ConstraintDescription", constraint),
                        ("MinLength", min_length), ("MaxLength", max_length)):
        if value is not None:
            constraints[name] = str(value)
    parameter = {"ParameterKey": key, "ParameterType": type_, "IsNoEcho": no_echo, "Description": description,
                 "ParameterConstraints": constraints}
    if default is not None:
        parameter["DefaultValue"] = default
    return parameter


def resource(logical_id: str, resource_type: str, properties: dict[str, tuple[list[str], str]]) -> dict:
    """A template resource: property -> (parameters feeding it, RequiresRecreation when they change)."""
    return {"LogicalResourceId": logical_id, "ResourceType": resource_type,
            "properties": {name: {"parameters": keys, "recreation": recreation}
                           for name, (keys, recreation) in properties.items()}}


def outputs(**descriptions: str) -> list[dict]:
    return [{"Key": key, "Description": text} for key, text in descriptions.items()]


def template(parameters: list[dict], outputs_: list[dict], resources: list[dict]) -> dict:
    return {"parameters": parameters, "outputs": outputs_, "resources": resources}


def version(ctx, slug: str, name: str, description: str, template_: dict, guidance: str = "DEFAULT") -> dict:
    """A product version whose template sits in the platform team's template bucket."""
    url = f"https://ml-platform-catalog-{MANAGEMENT_ACCOUNT_ID}.s3.amazonaws.com/{slug}/{name}.yaml"
    return new_artifact(ctx, name=name, description=description, template=template_, guidance=guidance,
                        info={"TemplateUrl": url})


# -- SageMaker Studio domain --------------------------------------------------------------------
_ENVIRONMENT = param("EnvironmentName", "Data science environment stage; suffix of resource names and the "
                     "EnvironmentType tag.", default="dev", allowed=ENVIRONMENTS)
_DOMAIN_NAME = param("DomainName", "SageMaker Studio domain name.", pattern=NAME_PATTERN, max_length=63,
                     constraint="1-63 letters, digits or hyphens, starting with a letter or digit.")
_VPC = param("VpcId", "VPC for SageMaker Studio and SageMaker workloads.", type_="AWS::EC2::VPC::Id")
_SUBNETS = param("SubnetIds", "Comma-separated private subnets in at least two Availability Zones.",
                 type_="CommaDelimitedList")
_EXECUTION_ROLE = param("SageMakerExecutionRoleArn", "Execution role of the domain's users. Leave empty for "
                        "the environment's SageMakerExecutionRole.", default="",
                        pattern=r"(arn:aws[a-z-]*:iam::\d{12}:role/\S+)?",
                        constraint="An IAM role ARN, or empty.")


def _domain_template(version: int) -> dict:
    network = param("AppNetworkAccessType", "How SageMaker Studio reaches the network.",
                    default="VpcOnly" if version > 1 else "PublicInternetOnly",
                    allowed=["PublicInternetOnly", "VpcOnly"])
    parameters = [_ENVIRONMENT, _DOMAIN_NAME, _VPC, _SUBNETS, network, _EXECUTION_ROLE]
    user_settings = ["SageMakerExecutionRoleArn"]
    domain_properties = {
        "DomainName": (["DomainName"], "ALWAYS"), "VpcId": (["VpcId"], "ALWAYS"),
        "SubnetIds": (["SubnetIds"], "ALWAYS"), "AppNetworkAccessType": (["AppNetworkAccessType"], "NEVER"),
    }
    if version > 1:
        parameters += [
            param("AuthMode", "How users authenticate to the domain.", default="IAM", allowed=["IAM", "SSO"]),
            param("SecurityGroupIds", "Comma-separated security groups for SageMaker Studio and SageMaker "
                  "workloads.", type_="CommaDelimitedList"),
            param("KmsKeyId", "Customer managed KMS key (id or ARN) for the EFS and EBS storage. Leave empty "
                  "for the AWS managed key.", default=""),
            param("NetworkIsolation", "Run training and processing jobs without network access.",
                  default="YES", allowed=["YES", "NO"]),
            param("DefaultInstanceType", "Default instance type of the users' notebook kernels.",
                  default="ml.t3.medium", allowed=STUDIO_INSTANCE_TYPES),
        ]
        user_settings += ["SecurityGroupIds", "DefaultInstanceType"]
        domain_properties.update({"AuthMode": (["AuthMode"], "ALWAYS"), "KmsKeyId": (["KmsKeyId"], "ALWAYS")})
    domain_properties["DefaultUserSettings"] = (user_settings, "NEVER")
    domain_properties["Tags"] = (["EnvironmentName"] + (["NetworkIsolation"] if version > 1 else []), "NEVER")
    return template(parameters,
                    outputs(DomainId="SageMaker domain id", DomainArn="SageMaker domain ARN",
                            StudioUrl="SageMaker Studio URL of the domain"),
                    [resource("SageMakerStudioDomain", "AWS::SageMaker::Domain", domain_properties)])


# -- SageMaker user profile ---------------------------------------------------------------------
USER_PROFILE_TEMPLATE = template(
    [
        _ENVIRONMENT,
        param("DomainId", "Id of the SageMaker Studio domain (d-...).", pattern="d-(-*[a-z0-9]){1,61}",
              max_length=63, constraint="A SageMaker domain id such as d-abcdef123456."),
        param("UserProfileName", "Name of the user profile (usually the user's name).", pattern=NAME_PATTERN,
              max_length=63, constraint="1-63 letters, digits or hyphens, starting with a letter or digit."),
        param("ExecutionRoleArn", "Execution role of the user. Leave empty for the domain's default.",
              default="", pattern=r"(arn:aws[a-z-]*:iam::\d{12}:role/\S+)?",
              constraint="An IAM role ARN, or empty."),
    ],
    outputs(UserProfileArn="ARN of the user profile", UserProfileName="Name of the user profile",
            DomainId="Domain of the user profile"),
    [resource("SageMakerUserProfile", "AWS::SageMaker::UserProfile", {
        "DomainId": (["DomainId"], "ALWAYS"), "UserProfileName": (["UserProfileName"], "ALWAYS"),
        "UserSettings": (["ExecutionRoleArn"], "NEVER"), "Tags": (["EnvironmentName"], "NEVER")})],
)

# -- MLOps project templates ----------------------------------------------------------------------
_PROJECT_PARAMETERS = [
    param("SageMakerProjectName", "Name of the project", pattern=PROJECT_NAME_PATTERN, min_length=1,
          max_length=32),
    param("SageMakerProjectId", "Service generated Id of the project. Leave empty when provisioning outside "
          "SageMaker Studio: one is generated.", default=""),
    param("SeedCodeS3BucketName", "S3 bucket name where the seed code for MLOps projects for CodeCommit "
          "repository is stored", default="ml-platform-mlops-seed-code"),
    param("ModelPackageGroupName", "Model package group name. Leave 'Auto' to auto generate.", default="Auto",
          pattern=f"Auto|{NAME_PATTERN}", max_length=63),
]
_GROUP_INPUTS = ["ModelPackageGroupName", "SageMakerProjectName", "SageMakerProjectId"]

BUILD_TRAIN_TEMPLATE = template(
    list(_PROJECT_PARAMETERS),
    outputs(SageMakerProjectId="Id of the SageMaker project",
            ModelPackageGroupName="Model package group the pipeline registers models in",
            ModelPackageGroupArn="ARN of the model package group"),
    [resource("ModelPackageGroup", "AWS::SageMaker::ModelPackageGroup",
              {"ModelPackageGroupName": (_GROUP_INPUTS, "ALWAYS")})],
)

_STAGE_ENDPOINT = {"EndpointConfigName": (["DeployModelPackageArn", "EndpointInstanceType"], "NEVER")}
DEPLOY_TEMPLATE = template(
    _PROJECT_PARAMETERS + [
        param("MultiAccountDeployment", "Enable multi-account deployment of the model to the test and prod "
              "accounts.", default="NO", allowed=["YES", "NO"]),
        param("TestAccountId", "Account of the test (staging) endpoint when MultiAccountDeployment is YES.",
              default="", pattern=r"(\d{12})?", constraint="A 12-digit account id, or empty."),
        param("ProdAccountId", "Account of the production endpoint when MultiAccountDeployment is YES.",
              default="", pattern=r"(\d{12})?", constraint="A 12-digit account id, or empty."),
        param("DeployModelPackageArn", "Approved model package version to deploy. Leave empty to deploy "
              "nothing yet.", default="",
              pattern=r"(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/\S+)?",
              constraint="A model package version ARN, or empty."),
        param("DeployStage", "Stage to deploy DeployModelPackageArn to.", default="none",
              allowed=["none", "test", "prod"]),
        param("EndpointInstanceType", "Instance type of the endpoints.", default="ml.m5.large",
              allowed=ENDPOINT_INSTANCE_TYPES),
    ],
    outputs(ModelPackageGroupName="Model package group watched for approved versions",
            TestEndpointName="Endpoint in the test account", TestEndpointArn="ARN of the test endpoint",
            TestModelPackageArn="Model package version the test endpoint serves",
            ProdEndpointName="Endpoint in the prod account", ProdEndpointArn="ARN of the prod endpoint",
            ProdModelPackageArn="Model package version the prod endpoint serves"),
    [resource("TestEndpoint", "AWS::SageMaker::Endpoint", _STAGE_ENDPOINT),
     resource("ProdEndpoint", "AWS::SageMaker::Endpoint", _STAGE_ENDPOINT)],
)

# -- Control Tower Account Factory ----------------------------------------------------------------
ACCOUNT_FACTORY_TEMPLATE = template(
    [
        param("AccountName", "Account name", pattern=".+"),
        param("AccountEmail", "Account email, must be unique for each AWS Account", pattern=EMAIL_PATTERN,
              constraint="Must be a valid email address", max_length=64),
        param("SSOUserFirstName", "SSO user first name", pattern=".+"),
        param("SSOUserLastName", "SSO user last name", pattern=".+"),
        param("SSOUserEmail", "SSO user email. A new SSO user will be created for this email, if it does "
              "not exist. This SSO user will be associated with the new managed Account",
              pattern=EMAIL_PATTERN, constraint="Must be a valid email address"),
        # AllowedValues are the organization's OUs at the time of the call (servicecatalog_effects).
        param("ManagedOrganizationalUnit", "Managed organizational unit"),
    ],
    outputs(AccountId="Id of the account", AccountEmail="Root email of the account",
            SSOUserEmail="Email of the IAM Identity Center user", SSOUserPortal="AWS access portal URL"),
    [resource("WaitCondition", "AWS::CloudFormation::WaitCondition", {})],
)


@seeder(order=20)
def seed_catalog(ctx) -> None:
    """The management account's portfolios: "ML Platform" (shared with the organization, launched
    by the portal's role everywhere) and Control Tower's Account Factory portfolio."""
    home = {"account": MANAGEMENT_ACCOUNT_ID, "region": HOME_REGION}
    ctx.state["identity_center_directory"] = ctx.new_id("d-", 10, "0123456789abcdef")
    platform = new_portfolio(ctx, **home, display_name=ML_PLATFORM_PORTFOLIO, provider_name="ML Platform Team",
                             description="Approved building blocks for machine learning teams: SageMaker Studio "
                             "domains and user profiles, MLOps project templates.",
                             shared_with_organization=True)
    associate_principal(platform["principals"], f"arn:{PARTITION}:iam:::role/{PORTAL_ROLE}", "IAM_PATTERN")
    support = {"Distributor": "ML Platform Team", "SupportEmail": "ml-platform@mlplatform.example.com",
               "SupportDescription": "Ask in #ml-platform-support.",
               "SupportUrl": "https://wiki.mlplatform.example.com/ml-platform"}
    studio_visible = [{"Key": "sagemaker:studio-visibility", "Value": "true"}]
    launch = {"constraints": [{"Type": "LAUNCH", "Description": "Launched with the SageMaker products launch "
                               "role of the target account."}],
              "launch_role_name": SAGEMAKER_LAUNCH_ROLE}
    catalog = [
        ("SageMaker Studio Domain", "sagemaker-domain", "A SageMaker Studio domain in the team's VPC.", [], [
            version(ctx, "sagemaker-domain", "v1", "Studio domain with public internet access.",
                    _domain_template(1), guidance="DEPRECATED"),
            version(ctx, "sagemaker-domain", "v2", "VPC-only domain with KMS-encrypted storage, network "
                    "isolation and a default instance type.", _domain_template(2)),
        ]),
        ("SageMaker User Profile", "sagemaker-user-profile", "A user profile in a SageMaker Studio domain.", [], [
            version(ctx, "sagemaker-user-profile", "v1", "User profile with its own execution role.",
                    USER_PROFILE_TEMPLATE),
        ]),
        ("MLOps Project: Model Build and Train", "mlops-build-train",
         "CI/CD pipeline to build, train and validate a model; registers versions in a model package group.",
         studio_visible, [version(ctx, "mlops-build-train", "v1.0", "Model build, train, validate pipeline.",
                                  BUILD_TRAIN_TEMPLATE)]),
        ("MLOps Project: Multi-account Model Deploy", "mlops-deploy",
         "Deploys approved model versions to endpoints in the test and production accounts.",
         studio_visible, [version(ctx, "mlops-deploy", "v1.0", "Multi-account model deployment pipeline.",
                                  DEPLOY_TEMPLATE)]),
    ]
    for name, effect, description, tags, artifacts in catalog:
        product = new_product(ctx, **home, name=name, owner="ML Platform Team",
                              product_type="CLOUD_FORMATION_TEMPLATE", artifacts=artifacts, effect=effect,
                              tags=[{"Key": "platform", "Value": "ml-platform"}, *tags],
                              ShortDescription=description, **support)
        associate_product(ctx, platform, product, **launch)

    factory = new_portfolio(ctx, **home, display_name=ACCOUNT_FACTORY_PORTFOLIO, provider_name="AWS Control Tower",
                            description="Account Factory portfolio for AWS Control Tower")
    account_factory = new_product(
        ctx, **home, name=ACCOUNT_FACTORY_PRODUCT, owner="AWS Control Tower",
        product_type="CLOUD_FORMATION_TEMPLATE", effect="account-factory", provisioned_type=ACCOUNT_FACTORY_TYPE,
        ShortDescription="AWS Control Tower Account Factory Template", Distributor="AWS Control Tower",
        artifacts=[version(ctx, "account-factory", "AWS Control Tower Account Factory",
                           "AWS Control Tower Account Factory Template (DO NOT DELETE)", ACCOUNT_FACTORY_TEMPLATE)])
    associate_product(ctx, factory, account_factory, launch_role_name=CONTROL_TOWER_LAUNCH_ROLE,
                      constraints=[{"Type": "LAUNCH", "Description": "Launched by AWS Control Tower."}])
