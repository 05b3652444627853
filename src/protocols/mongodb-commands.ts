/**
 * MongoDB database command names (the first key of a command document), as the server's command
 * list spells them, including the legacy handshake spellings drivers still send. A first key not in
 * it is named `_OTHER`: it is read from the wire and could be a field name or a value.
 */
export const MONGODB_COMMANDS: ReadonlySet<string> = new Set(
  [
    // CRUD and queries
    'aggregate count distinct find findAndModify findandmodify getMore insert update delete',
    'bulkWrite killCursors mapReduce explain geoNear geoSearch',
    // handshake, authentication, sessions, transactions
    'hello isMaster ismaster ping buildInfo buildinfo saslStart saslContinue authenticate logout',
    'getnonce startSession endSessions refreshSessions killSessions killAllSessions',
    'killAllSessionsByPattern abortTransaction commitTransaction',
    // collections, databases and indexes
    'create drop dropDatabase listCollections listDatabases renameCollection collMod',
    'convertToCapped cloneCollectionAsCapped compact compactStructuredEncryptionData reIndex',
    'validate dbStats collStats dataSize dbHash createIndexes dropIndexes listIndexes',
    'createSearchIndexes dropSearchIndex updateSearchIndex listSearchIndexes analyze',
    'cleanupReshardCollection cleanupStructuredEncryptionData',
    // users and roles
    'createUser updateUser dropUser dropAllUsersFromDatabase grantRolesToUser revokeRolesFromUser',
    'usersInfo createRole updateRole dropRole dropAllRolesFromDatabase grantPrivilegesToRole',
    'revokePrivilegesFromRole grantRolesToRole revokeRolesFromRole rolesInfo invalidateUserCache',
    'connectionStatus',
    // diagnostics and administration
    'serverStatus hostInfo getParameter setParameter getCmdLineOpts getLog listCommands whatsmyuri',
    'currentOp killOp top profile lockInfo features connPoolStats shardConnPoolStats',
    'getDefaultRWConcern setDefaultRWConcern setFeatureCompatibilityVersion fsync fsyncUnlock',
    'shutdown logRotate rotateCertificates dropConnections getLastError resetError getPrevError',
    'setUserWriteBlockMode setIndexCommitQuorum getClusterParameter setClusterParameter',
    'autoCompact',
    // replication
    'replSetGetStatus replSetGetConfig replSetInitiate replSetReconfig replSetStepDown',
    'replSetFreeze replSetMaintenance replSetSyncFrom replSetResizeOplog appendOplogNote',
    // sharding
    'shardCollection addShard removeShard enableSharding listShards balancerStart balancerStop',
    'balancerStatus moveChunk moveRange splitChunk split mergeChunks flushRouterConfig getShardMap',
    'getShardVersion refineCollectionShardKey reshardCollection abortReshardCollection',
    'commitReshardCollection cleanupOrphaned checkShardingIndex clearJumboFlag addShardToZone',
    'removeShardFromZone updateZoneKeyRange analyzeShardKey configureQueryAnalyzer',
    'configureCollectionBalancing movePrimary isdbgrid',
  ]
    .join(' ')
    .split(' '),
);
