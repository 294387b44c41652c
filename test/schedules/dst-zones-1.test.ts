import { zoneShardTests } from './zone-shard.js';

zoneShardTests(0);
