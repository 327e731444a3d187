/** The console's string table (English only for now). */
import { consoleTables } from "../shared/i18n";

export const t = consoleTables.en;
