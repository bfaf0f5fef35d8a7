// Field mapping engine: CRM record ⇄ unified record for 5 CRMs × 5 entities. See MAPPING.md.
export { compileMapping, defaultTargetFields, CompiledMapping } from './compile';
export { defaultMapping } from './default-mapping';
export { defaultMap } from './default-map';
export { parseMappingDocument, validateMappingDocument, mergeOverrides } from './document';
export { ACTIVITY_TYPES, DEAL_STAGES, LEAD_SOURCES, LEAD_STATUSES, LIFECYCLE_STAGES } from './vocabulary';
export { buildStageMapping, type DealStage, type StageMapping } from './stages';
export * from './types';
export { OwnerDirectory, type OwnerMatch } from './owners';
export { fromUnifiedWithMetadata, METADATA_ENTITIES, missesOwner, OWNER_EMAIL, toUnifiedWithMetadata, withMetadataValues, type CrmMetadata } from './metadata';
export { CURRENCY_FROM_METADATA, OWNER_EMAIL_FROM_METADATA, STAGE_FROM_METADATA } from './from-metadata';
