import { zoneShardTests } from './zone-shard.js';

zoneShardTests(1);
