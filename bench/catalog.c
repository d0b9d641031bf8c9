/* The fleet simulator's static world; see catalog.h. Names, publishers,
 * version patterns and install paths are what Windows' Uninstall keys show
 * for these programs (as of late 2024 / early 2025); build numbers and KB
 * ids are Microsoft's cumulative updates of those months. */
#include "catalog.h"

#include <stddef.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *const catalog_source_names[6] = {"msi",    "registry",   "store",
                                             "winget", "chocolatey", "other"};

/* P(name, publisher, location, components, source, profiles, percent, versions...) */
#define P(name, pub, loc, comps, src, prof, pct, ...)                                              \
    {                                                                                              \
        name, pub, {__VA_ARGS__, NULL}, loc, comps, src, prof, pct, NULL                           \
    }
/* OEM(manufacturer, ...): the same, only on that manufacturer's hardware. */
#define OEM(oem, name, pub, loc, comps, src, prof, pct, ...)                                       \
    {                                                                                              \
        name, pub, {__VA_ARGS__, NULL}, loc, comps, src, prof, pct, oem                            \
    }

#define MS   "Microsoft Corporation"
#define PF   "C:\\Program Files\\"
#define PF86 "C:\\Program Files (x86)\\"
#define LAD  "C:\\Users\\{u}\\AppData\\Local\\"
#define RAD  "C:\\Users\\{u}\\AppData\\Roaming\\"

#define VS_COMPONENTS                                                                              \
    "vs_CoreEditorFonts;vs_communitymsires;vs_devenvsharedmsi;vs_filehandler_amd64;"               \
    "vs_filehandler_x86;vs_minshellmsi;vs_minshellinteropsharedmsi;vs_minshellsharedmsi;"          \
    "vs_SQLClickOnceBootstrappermsi;vs_tipsmsi;vs_BlendMsi;vs_clickoncebootstrappermsi;"           \
    "vs_clickoncesigntoolmsi;vs_networkemulationmsi_x64;vs_Graphics_Singletonx64;"                 \
    "vs_githubprotocolhandlermsi;vs_vswebprotocolselectormsi;icecap_collection_x64;"               \
    "icecap_collection_neutral;icecap_collectionresources;icecap_collectionresourcesx64;"          \
    "Microsoft .NET Framework 4.8 SDK;Microsoft .NET Framework 4.8 Targeting Pack;"                \
    "Microsoft .NET Framework 4.7.2 Targeting Pack;Microsoft .NET Framework 4.6.2 Targeting Pack;" \
    "Microsoft .NET Framework 4.8.1 SDK;Microsoft .NET Framework 4.8.1 Targeting Pack;"            \
    "Microsoft .NET Framework Cumulative Intellisense Pack for Visual Studio (ENU);"               \
    "Microsoft TestPlatform SDK Local Feed;Microsoft Visual Studio Installer;"                     \
    "Microsoft Visual Studio Setup Configuration;Microsoft Visual Studio Setup WMI Provider;"      \
    "IIS 10.0 Express;IntelliTraceProfilerProxy;Entity Framework 6.2.0 Tools  for Visual Studio "  \
    "2022;Microsoft System CLR Types for SQL Server 2019;Microsoft SQL Server 2019 LocalDB ;"      \
    "Microsoft Windows Desktop Targeting Pack - 8.0.11 (x64);Microsoft .NET AppHost Pack - "       \
    "8.0.11 (x64);Microsoft .NET Targeting Pack - 8.0.11 (x64);Microsoft ASP.NET Core 8.0.11 "     \
    "Targeting Pack (x64)"

#define SDK_COMPONENTS                                                                             \
    "Windows SDK Desktop Headers x86;Windows SDK Desktop Headers x64;Windows SDK Desktop "         \
    "Headers arm64;Windows SDK Desktop Libs x86;Windows SDK Desktop Libs x64;Windows SDK "         \
    "Desktop Libs arm64;Windows SDK Desktop Tools x86;Windows SDK Desktop Tools x64;Windows SDK "  \
    "Desktop Tools arm64;Windows SDK Signing Tools;Windows SDK for Windows Store Apps;Windows "    \
    "SDK for Windows Store Apps Headers;Windows SDK for Windows Store Apps Libs;Windows SDK for "  \
    "Windows Store Apps Tools;Windows SDK for Windows Store Apps Metadata;Windows SDK for "        \
    "Windows Store Apps Contracts;Windows SDK for Windows Store Apps DirectX x86 Remote;Windows "  \
    "SDK for Windows Store Apps DirectX x64 Remote;Windows SDK ARM Desktop Tools;Windows SDK "     \
    "Redistributables;Windows SDK Facade Windows WinMD Versioned;Windows SDK Modern Versioned "    \
    "Developer Tools;Windows SDK Modern Non-Versioned Developer Tools;Windows SDK EULA;Windows "   \
    "SDK AddOn;Windows App Certification Kit x64;Windows App Certification Kit Native "            \
    "Components;Windows App Certification Kit SupportedApiList x86;Windows Team Extension SDK;"    \
    "Windows Team Extension SDK Contracts;WinAppDeploy;Universal CRT Headers Libraries and "       \
    "Sources;Universal CRT Redistributable;Universal CRT Tools x64;Universal CRT Tools x86;"       \
    "Universal CRT Extension SDK;Universal General MIDI DLS Extension SDK;Kits Configuration "     \
    "Installer;MSI Development Tools;SDK ARM Additions;SDK ARM Redistributables;Application "      \
    "Verifier x64 External Package;WPT Redistributables;Windows Performance Toolkit;Windows IoT "  \
    "Extension SDK;Windows IoT Extension SDK Contracts;Windows Mobile Extension SDK;Windows "      \
    "Mobile Extension SDK Contracts;Windows Desktop Extension SDK;Windows Desktop Extension SDK "  \
    "Contracts"

#define PY_COMPONENTS                                                                              \
    "Python {v} Core Interpreter (64-bit);Python {v} Development Libraries (64-bit);Python {v} "   \
    "Documentation (64-bit);Python {v} Executables (64-bit);Python {v} pip Bootstrap (64-bit);"    \
    "Python {v} Standard Library (64-bit);Python {v} Tcl/Tk Support (64-bit);Python {v} Test "     \
    "Suite (64-bit);Python {v} Add to Path (64-bit)"

#define SQL_COMPONENTS                                                                             \
    "Microsoft SQL Server 2022 Setup (English);SQL Server 2022 Database Engine Services;SQL "      \
    "Server 2022 Database Engine Shared;SQL Server 2022 Common Files;SQL Server 2022 Shared "      \
    "Management Objects;SQL Server 2022 Connection Info;SQL Server 2022 XEvent;SQL Server 2022 "   \
    "DMF;SQL Server 2022 Batch Parser;Microsoft SQL Server 2022 RsFx Driver;Microsoft VSS "        \
    "Writer for SQL Server 2022;SQL Server 2022 SQL Diagnostics"

#define EDGE_VERSIONS   "130.0.2849.80", "131.0.2903.86", "131.0.2903.112", "132.0.2957.115"
#define OFFICE_VERSIONS "16.0.17928.20392", "16.0.18129.20158", "16.0.18227.20162"

const catalog_product_t catalog_products[] = {
    /* Runtimes and platform pieces nearly every machine has. */
    P("Microsoft Edge", MS, PF86 "Microsoft\\Edge\\Application", NULL, SRC_REGISTRY, PROF_ALL, 100,
      EDGE_VERSIONS),
    P("Microsoft Edge WebView2 Runtime", MS, PF86 "Microsoft\\EdgeWebView\\Application", NULL,
      SRC_REGISTRY, PROF_ALL, 95, EDGE_VERSIONS),
    P("Microsoft Visual C++ 2015-2022 Redistributable (x64) - {v}", MS, NULL,
      "Microsoft Visual C++ 2022 X64 Minimum Runtime - {v};Microsoft Visual C++ 2022 X64 "
      "Additional Runtime - {v}",
      SRC_REGISTRY, PROF_ALL, 97, "14.38.33135.0|14.38.33135", "14.40.33810.0|14.40.33810",
      "14.42.34433.0|14.42.34433"),
    P("Microsoft Visual C++ 2015-2022 Redistributable (x86) - {v}", MS, NULL,
      "Microsoft Visual C++ 2022 X86 Minimum Runtime - {v};Microsoft Visual C++ 2022 X86 "
      "Additional Runtime - {v}",
      SRC_REGISTRY, PROF_ALL, 90, "14.38.33135.0|14.38.33135", "14.40.33810.0|14.40.33810",
      "14.42.34433.0|14.42.34433"),
    P("Microsoft Visual C++ 2013 Redistributable (x64) - {v}", MS, NULL,
      "Microsoft Visual C++ 2013 x64 Minimum Runtime - {v};Microsoft Visual C++ 2013 x64 "
      "Additional Runtime - {v}",
      SRC_REGISTRY, PROF_ALL, 55, "12.0.40664.0|12.0.40664"),
    P("Microsoft Visual C++ 2013 Redistributable (x86) - {v}", MS, NULL,
      "Microsoft Visual C++ 2013 x86 Minimum Runtime - {v};Microsoft Visual C++ 2013 x86 "
      "Additional Runtime - {v}",
      SRC_REGISTRY, PROF_ALL, 45, "12.0.40664.0|12.0.40664"),
    P("Microsoft Visual C++ 2012 Redistributable (x64) - {v}", MS, NULL,
      "Microsoft Visual C++ 2012 x64 Minimum Runtime - {v};Microsoft Visual C++ 2012 x64 "
      "Additional Runtime - {v}",
      SRC_REGISTRY, PROF_ALL, 40, "11.0.61030.0|11.0.61030"),
    P("Microsoft Visual C++ 2010  x64 Redistributable - {v}", MS, NULL, NULL, SRC_MSI, PROF_ALL, 35,
      "10.0.40219"),
    P("Microsoft Visual C++ 2008 Redistributable - x64 {v}", MS, NULL, NULL, SRC_MSI, PROF_ALL, 30,
      "9.0.30729.6161"),
    P("Microsoft Windows Desktop Runtime - {v} (x64)", MS, NULL,
      "Microsoft .NET Runtime - {v} (x64);Microsoft .NET Host - {v} (x64);Microsoft .NET Host FX "
      "Resolver - {v} (x64)",
      SRC_REGISTRY, PROF_ALL, 70, "8.0.8.34118|8.0.8", "8.0.11.34221|8.0.11",
      "8.0.12.34527|8.0.12"),
    P("Microsoft Windows Desktop Runtime - {v} (x86)", MS, NULL,
      "Microsoft .NET Runtime - {v} (x86);Microsoft .NET Host - {v} (x86)", SRC_REGISTRY, PROF_WS,
      25, "6.0.33.34010|6.0.33", "6.0.36.34214|6.0.36"),
    P("Microsoft ASP.NET Core {v} - Shared Framework (x64)", MS, NULL, NULL, SRC_MSI,
      PROF_DEV | PROF_SERVER, 50, "8.0.8.24415|8.0.8", "8.0.11.24521|8.0.11",
      "8.0.12.24603|8.0.12"),
    P("Microsoft .NET {v} - Windows Server Hosting", MS, NULL, NULL, SRC_REGISTRY, PROF_SERVER, 40,
      "8.0.8.24415|8.0.8", "8.0.11.24521|8.0.11"),
    P("Microsoft .NET SDK {v} (x64)", MS, PF "dotnet\\",
      "Microsoft .NET Toolset {v} (x64);Microsoft .NET Templates {v} (x64);Microsoft .NET "
      "Standard Targeting Pack - 2.1.0 (x64);Microsoft .NET Workload Manifest (x64)",
      SRC_REGISTRY, PROF_DEV, 65, "8.0.403.24519|8.0.403", "8.0.404.24561|8.0.404"),
    P("Microsoft Update Health Tools", MS, NULL, NULL, SRC_MSI, PROF_ALL, 80, "3.74.0.0",
      "5.72.0.0"),
    P("Microsoft GameInput", MS, NULL, NULL, SRC_MSI, PROF_WS, 35, "10.1.22621.3036",
      "10.1.26100.3036"),
    P("Windows PC Health Check", MS, NULL, NULL, SRC_MSI, PROF_WS, 45, "3.6.2204.08001",
      "3.7.2204.15001"),
    P("Microsoft Intune Management Extension", MS, PF86 "Microsoft Intune Management Extension\\",
      NULL, SRC_MSI, PROF_WS, 60, "1.82.102.0", "1.83.107.0"),
    P("Microsoft Policy Platform", MS, NULL, NULL, SRC_MSI, PROF_ALL, 30, "68.1.1010.0"),
    P("Configuration Manager Client", MS, "C:\\Windows\\CCM\\", NULL, SRC_MSI, PROF_ALL, 35,
      "5.00.9128.1000", "5.00.9132.1011"),
    P("Local Administrator Password Solution", MS, PF "LAPS\\", NULL, SRC_MSI, PROF_ALL, 30,
      "6.2.0.0"),
    P("Azure Connected Machine Agent", MS, PF "AzureConnectedMachineAgent\\", NULL, SRC_MSI,
      PROF_SERVER, 45, "1.46.02869.1764", "1.47.02888.1810"),
    P("Microsoft Visual Studio 2010 Tools for Office Runtime (x64)", MS, NULL, NULL, SRC_MSI,
      PROF_OFFICE, 40, "10.0.60910", "10.0.60917"),
    P("Microsoft Access database engine 2016 (English)", MS, NULL, NULL, SRC_MSI,
      PROF_OFFICE | PROF_SERVER, 10, "16.0.5044.1000"),
    P("Microsoft Silverlight", MS, PF "Microsoft Silverlight\\", NULL, SRC_MSI, PROF_OFFICE, 4,
      "5.1.50918.0"),
    P("Microsoft Search in Bing", MS, NULL, NULL, SRC_MSI, PROF_OFFICE, 8, "2.0.2", "2.0.3"),
    P("Windows 11 Installation Assistant", MS, PF86 "WindowsInstallationAssistant\\", NULL,
      SRC_REGISTRY, PROF_WS, 5, "1.4.19041.3630", "1.4.19041.5003"),

    /* Office and collaboration. */
    P("Microsoft 365 Apps for enterprise - en-us", MS, PF "Microsoft Office",
      "Microsoft OneNote - en-us;Office 16 Click-to-Run Extensibility Component;Office 16 "
      "Click-to-Run Localization Component;Office 16 Click-to-Run Licensing Component",
      SRC_REGISTRY, PROF_WS, 85, OFFICE_VERSIONS),
    P("Microsoft 365 Apps for enterprise - de-de", MS, PF "Microsoft Office",
      "Microsoft OneNote - de-de;Microsoft Office Proofing Tools 2016 - Deutsch", SRC_REGISTRY,
      PROF_OFFICE, 15, OFFICE_VERSIONS),
    P("Microsoft 365 Apps for enterprise - ja-jp", MS, PF "Microsoft Office",
      "Microsoft OneNote - ja-jp", SRC_REGISTRY, PROF_OFFICE, 5, OFFICE_VERSIONS),
    P("Microsoft Project - en-us", MS, PF "Microsoft Office", NULL, SRC_REGISTRY, PROF_OFFICE, 4,
      OFFICE_VERSIONS),
    P("Microsoft Visio - en-us", MS, PF "Microsoft Office", NULL, SRC_REGISTRY, PROF_OFFICE, 5,
      OFFICE_VERSIONS),
    P("Microsoft OneDrive", MS, PF "Microsoft OneDrive", NULL, SRC_REGISTRY, PROF_WS, 90,
      "24.201.1006.0005", "24.226.1110.0004", "24.244.1204.0003"),
    P("Microsoft Teams", MS, PF "WindowsApps\\MSTeams_{v}_x64__8wekyb3d8bbwe", NULL, SRC_STORE,
      PROF_WS, 85, "24243.1309.3132.617", "24295.605.3225.8804", "25004.303.3336.4478"),
    P("Teams Machine-Wide Installer", MS, PF86 "Teams Installer", NULL, SRC_MSI, PROF_WS, 30,
      "1.7.0.33761"),
    P("Microsoft Teams Meeting Add-in for Microsoft Office", MS,
      LAD "Microsoft\\TeamsMeetingAdd-in\\{v}\\", NULL, SRC_MSI, PROF_WS, 70, "1.24.19202",
      "1.24.25501"),
    P("Microsoft Power BI Desktop (x64)", MS, PF "Microsoft Power BI Desktop\\", NULL, SRC_MSI,
      PROF_OFFICE, 12, "2.137.1102.0", "2.138.1203.0"),
    P("Zoom Workplace (64-bit)", "Zoom Video Communications, Inc.", PF "Zoom\\bin", NULL, SRC_MSI,
      PROF_WS, 45, "6.2.11.54821", "6.3.0.52884", "6.3.6.56144"),
    P("Slack (Machine - MSI)", "Slack Technologies Inc.", PF "Slack\\", NULL, SRC_MSI, PROF_WS, 25,
      "4.41.97", "4.41.105", "4.42.115"),
    P("Webex", "Cisco Systems, Inc", LAD "CiscoSparkLauncher", NULL, SRC_MSI, PROF_OFFICE, 10,
      "44.10.1.31028", "44.12.0.31359"),
    P("Citrix Workspace {v}", "Citrix Systems, Inc.", PF86 "Citrix\\ICA Client\\", NULL,
      SRC_REGISTRY, PROF_OFFICE, 15, "24.5.0.131|2405", "24.9.0.173|2409"),
    P("VMware Horizon Client", "Omnissa, LLC", PF "Omnissa\\Horizon Client\\", NULL, SRC_MSI,
      PROF_OFFICE, 6, "8.12.0.24365", "8.13.0.25068"),
    P("SAP GUI for Windows 8.00  (Patchlevel {v})", "SAP SE", PF86 "SAP\\FrontEnd\\SapGui\\", NULL,
      SRC_REGISTRY, PROF_OFFICE, 6, "8.00.6|6", "8.00.7|7"),
    P("LibreOffice {v}", "The Document Foundation", PF "LibreOffice\\", NULL, SRC_MSI, PROF_OFFICE,
      8, "7.6.7.2", "24.2.7.2", "24.8.3.2"),
    P("Microsoft Remote Desktop", MS, NULL, NULL, SRC_STORE, PROF_WS, 10, "10.2.3012.0",
      "10.2.3131.0"),

    /* Browsers, mail, PDF, media, utilities. */
    P("Google Chrome", "Google LLC", PF "Google\\Chrome\\Application", NULL, SRC_MSI, PROF_WS, 75,
      "130.0.6723.117", "131.0.6778.86", "131.0.6778.140", "132.0.6834.84"),
    P("Google Chrome", "Google LLC", PF "Google\\Chrome\\Application", NULL, SRC_MSI, PROF_SERVER,
      15, "131.0.6778.86", "132.0.6834.84"),
    P("Google Drive", "Google LLC", PF "Google\\Drive File Stream\\{v}\\", NULL, SRC_REGISTRY,
      PROF_WS, 10, "99.0.2.0", "101.0.3.0", "104.0.4.0"),
    P("Google Earth Pro", "Google", PF "Google\\Google Earth Pro\\", NULL, SRC_MSI, PROF_OFFICE, 3,
      "7.3.6.9796", "7.3.6.10201"),
    P("Mozilla Firefox (x64 en-US)", "Mozilla", PF "Mozilla Firefox", "Mozilla Maintenance Service",
      SRC_REGISTRY, PROF_WS, 35, "132.0.2", "133.0", "133.0.3", "134.0.1"),
    P("Mozilla Firefox ESR (x64 de)", "Mozilla", PF "Mozilla Firefox", NULL, SRC_REGISTRY,
      PROF_OFFICE | PROF_SERVER, 5, "128.4.0", "128.5.1", "128.6.0"),
    P("Mozilla Thunderbird (x64 de)", "Mozilla", PF "Mozilla Thunderbird", NULL, SRC_REGISTRY,
      PROF_OFFICE, 6, "128.4.3", "128.5.2"),
    P("Brave", "Brave Software Inc", PF "BraveSoftware\\Brave-Browser\\Application", NULL,
      SRC_REGISTRY, PROF_WS, 4, "130.1.71.123", "131.1.73.97"),
    P("Opera Stable {v}", "Opera Software", LAD "Programs\\Opera", NULL, SRC_REGISTRY, PROF_OFFICE,
      3, "114.0.5282.102", "115.0.5322.68"),
    P("Adobe Acrobat (64-bit)", "Adobe", PF "Adobe\\Acrobat DC\\", NULL, SRC_MSI, PROF_WS, 55,
      "24.003.20180", "24.004.20272", "24.005.20320"),
    P("Adobe Creative Cloud", "Adobe Inc.", PF "Adobe\\Adobe Creative Cloud", NULL, SRC_REGISTRY,
      PROF_OFFICE, 8, "6.3.0.207", "6.4.0.361"),
    P("Adobe Photoshop 2025", "Adobe Inc.", PF "Adobe\\Adobe Photoshop 2025", NULL, SRC_REGISTRY,
      PROF_OFFICE, 4, "26.0.0", "26.1.0", "26.2.0"),
    P("Adobe Genuine Service", "Adobe Inc.", PF86 "Common Files\\Adobe\\AdobeGCClient", NULL,
      SRC_REGISTRY, PROF_OFFICE, 8, "8.4.0.36", "8.5.0.24"),
    P("Foxit PDF Reader", "Foxit Software Inc.", PF86 "Foxit Software\\Foxit PDF Reader\\", NULL,
      SRC_REGISTRY, PROF_OFFICE, 8, "2024.2.3.25184", "2024.3.0.26795"),
    P("PDF24 Creator", "geek software GmbH", PF "PDF24\\", NULL, SRC_MSI, PROF_OFFICE, 10,
      "11.21.0", "11.22.0"),
    P("SumatraPDF", "Krzysztof Kowalczyk", LAD "SumatraPDF", NULL, SRC_REGISTRY, PROF_WS, 6,
      "3.5.2"),
    P("7-Zip {v} (x64)", "Igor Pavlov", PF "7-Zip\\", NULL, SRC_REGISTRY, PROF_ALL, 60, "19.00",
      "22.01", "23.01", "24.08"),
    P("WinRAR {v} (64-bit)", "win.rar GmbH", PF "WinRAR\\", NULL, SRC_REGISTRY, PROF_WS, 15,
      "6.24.0|6.24", "7.01.0|7.01", "7.10.0|7.10"),
    P("Notepad++ (64-bit x64)", "Notepad++ Team", PF "Notepad++", NULL, SRC_REGISTRY, PROF_ALL, 45,
      "8.6.9", "8.7", "8.7.1", "8.7.4"),
    P("VLC media player", "VideoLAN", PF "VideoLAN\\VLC", NULL, SRC_REGISTRY, PROF_WS, 35, "3.0.18",
      "3.0.20", "3.0.21"),
    P("K-Lite Codec Pack {v} Basic", "KLCP", PF86 "K-Lite Codec Pack\\", NULL, SRC_REGISTRY,
      PROF_OFFICE, 4, "18.5.5", "18.6.5"),
    P("Spotify", "Spotify AB", RAD "Spotify", NULL, SRC_REGISTRY, PROF_WS, 10, "1.2.50.335",
      "1.2.52.442"),
    P("WhatsApp", "WhatsApp Inc.",
      PF "WindowsApps\\5319275A.WhatsAppDesktop_{v}_x64__cv1g1gvanyjgm", NULL, SRC_STORE,
      PROF_OFFICE, 8, "2.2450.6.0", "2.2502.2.0"),
    P("Signal {v}", "Signal Messenger, LLC", LAD "Programs\\signal-desktop", NULL, SRC_REGISTRY,
      PROF_WS, 3, "7.34.0", "7.36.1"),
    P("Telegram Desktop", "Telegram FZ-LLC", RAD "Telegram Desktop\\", NULL, SRC_REGISTRY, PROF_WS,
      3, "5.8.3", "5.9"),
    P("Notion {v}", "Notion Labs, Inc", LAD "Programs\\Notion", NULL, SRC_REGISTRY, PROF_WS, 5,
      "4.1.0", "4.2.0"),
    P("Figma", "Figma, Inc.", LAD "Figma", NULL, SRC_REGISTRY, PROF_WS, 5, "124.5.5", "124.6.5"),
    P("draw.io {v}", "JGraph", PF "draw.io", NULL, SRC_REGISTRY, PROF_WS, 6, "24.7.17", "25.0.2"),
    P("Grammarly for Windows", "Grammarly", LAD "Grammarly\\DesktopIntegrations", NULL,
      SRC_REGISTRY, PROF_OFFICE, 5, "1.2.117.1572", "1.2.122.1598"),
    P("Dropbox", "Dropbox, Inc.", PF86 "Dropbox\\Client", NULL, SRC_REGISTRY, PROF_WS, 8,
      "212.4.5767", "213.4.6105"),
    P("Box", "Box, Inc.", PF "Box\\Box\\", NULL, SRC_MSI, PROF_OFFICE, 5, "2.40.345", "2.41.224"),
    P("Paint.NET", "dotPDN LLC", PF "paint.net\\", NULL, SRC_MSI, PROF_WS, 10, "5.0.13", "5.1.2"),
    P("GIMP {v}", "The GIMP Team", PF "GIMP 2\\", NULL, SRC_REGISTRY, PROF_WS, 6, "2.10.36",
      "2.10.38"),
    P("Inkscape", "Inkscape", PF "Inkscape\\", NULL, SRC_MSI, PROF_WS, 4, "1.3.2", "1.4"),
    P("Audacity {v}", "Audacity Team", PF "Audacity\\", NULL, SRC_REGISTRY, PROF_WS, 5, "3.6.4",
      "3.7.1"),
    P("OBS Studio", "OBS Project", PF "obs-studio", NULL, SRC_REGISTRY, PROF_WS, 5, "30.2.3",
      "31.0.0"),
    P("Greenshot {v}", "Greenshot", PF "Greenshot\\", NULL, SRC_REGISTRY, PROF_WS, 10, "1.2.10.6"),
    P("ShareX", "ShareX Team", PF "ShareX\\", NULL, SRC_REGISTRY, PROF_WS, 6, "16.1.0", "17.0.0"),
    P("Snagit 2024", "TechSmith Corporation", PF "TechSmith\\Snagit 2024\\", NULL, SRC_MSI,
      PROF_OFFICE, 6, "24.1.2", "24.2.0"),
    P("IrfanView {v} (64-bit)", "Irfan Skiljan", PF "IrfanView\\", NULL, SRC_REGISTRY, PROF_OFFICE,
      6, "4.67", "4.70"),
    P("TreeSize Free V{v}", "JAM Software", PF "JAM Software\\TreeSize Free\\", NULL, SRC_REGISTRY,
      PROF_ALL, 8, "4.7.2", "4.7.3"),
    P("Logi Options+", "Logitech", PF "LogiOptionsPlus", NULL, SRC_REGISTRY, PROF_WS, 12,
      "1.80.641293", "1.83.655887"),
    P("Jabra Direct", "GN Audio A/S", PF86 "Jabra\\Direct6\\", NULL, SRC_REGISTRY, PROF_OFFICE, 8,
      "6.16.12301", "6.18.13101"),
    P("KeePass Password Safe {v}", "Dominik Reichl", PF "KeePass Password Safe 2\\", NULL,
      SRC_REGISTRY, PROF_WS, 15, "2.57", "2.57.1"),
    P("Bitwarden", "Bitwarden Inc.", LAD "Programs\\Bitwarden", NULL, SRC_REGISTRY, PROF_WS, 8,
      "2024.11.1", "2024.12.0"),
    P("1Password", "AgileBits Inc.", LAD "1Password\\app\\8", NULL, SRC_REGISTRY, PROF_WS, 6,
      "8.10.54", "8.10.56"),
    P("Java 8 Update {v} (64-bit)", "Oracle Corporation", PF "Java\\jre1.8.0_{v}\\", NULL, SRC_MSI,
      PROF_ALL, 25, "8.0.4210.9|421", "8.0.4310.10|431"),
    P("Java Auto Updater", "Oracle Corporation", NULL, NULL, SRC_MSI, PROF_OFFICE, 10, "2.8.421.9",
      "2.8.431.10"),

    /* Remote access, VPN and security agents. */
    P("TeamViewer", "TeamViewer", PF "TeamViewer", NULL, SRC_REGISTRY, PROF_ALL, 12, "15.59.3",
      "15.60.3"),
    P("AnyDesk", "AnyDesk Software GmbH", PF86 "AnyDesk", NULL, SRC_REGISTRY, PROF_WS, 5,
      "ad 8.1.0", "ad 9.0.1"),
    P("Cisco Secure Client - AnyConnect VPN", "Cisco Systems, Inc.",
      PF86 "Cisco\\Cisco Secure Client\\", NULL, SRC_MSI, PROF_WS, 20, "5.1.4.74", "5.1.6.103"),
    P("GlobalProtect", "Palo Alto Networks", PF "Palo Alto Networks\\GlobalProtect\\", NULL,
      SRC_MSI, PROF_WS, 15, "6.2.4", "6.2.6"),
    P("FortiClient VPN", "Fortinet Technologies Inc", PF "Fortinet\\FortiClient\\", NULL, SRC_MSI,
      PROF_WS, 10, "7.2.5.0972", "7.4.0.1658"),
    P("CrowdStrike Windows Sensor", "CrowdStrike, Inc.", NULL, NULL, SRC_REGISTRY, PROF_ALL, 30,
      "7.18.18710.0", "7.19.18913.0", "7.20.19005.0"),
    P("Sophos Endpoint Agent", "Sophos Limited", PF "Sophos\\", NULL, SRC_REGISTRY, PROF_ALL, 10,
      "2023.2.2.1", "2024.1.1.3"),
    P("Tenable Nessus Agent (x64)", "Tenable, Inc.", PF "Tenable\\Nessus Agent\\", NULL, SRC_MSI,
      PROF_ALL, 10, "10.7.3.20001", "10.8.1.20026"),
    P("Qualys Cloud Security Agent", "Qualys, Inc.", PF "Qualys\\QualysAgent\\", NULL, SRC_MSI,
      PROF_ALL, 10, "6.0.0.41", "6.1.0.28"),
    P("ManageEngine UEMS - Agent", "ZOHO Corp.", PF86 "ManageEngine\\UEMS_Agent\\", NULL, SRC_MSI,
      PROF_ALL, 5, "11.3.2416.8", "11.3.2428.6"),
    P("mRemoteNG", "Next Generation Software", PF86 "mRemoteNG\\", NULL, SRC_MSI,
      PROF_DEV | PROF_SERVER, 5, "1.76.20.24615"),
    P("PuTTY release {v} (64-bit)", "Simon Tatham", PF "PuTTY\\", NULL, SRC_MSI,
      PROF_DEV | PROF_SERVER, 35, "0.81.0.0|0.81", "0.82.0.0|0.82"),
    P("WinSCP {v}", "Martin Prikryl", PF86 "WinSCP\\", NULL, SRC_REGISTRY, PROF_DEV | PROF_SERVER,
      20, "6.3.5", "6.3.6"),
    P("FileZilla {v}", "Tim Kosse", PF "FileZilla FTP Client", NULL, SRC_REGISTRY, PROF_WS, 12,
      "3.67.1", "3.68.1"),

    /* Developer tools. */
    P("Git", "The Git Development Community", PF "Git\\", NULL, SRC_REGISTRY, PROF_DEV, 90,
      "2.45.2", "2.46.2", "2.47.0", "2.47.1"),
    P("Git", "The Git Development Community", PF "Git\\", NULL, SRC_REGISTRY, PROF_SERVER, 10,
      "2.46.2", "2.47.1"),
    P("GitHub Desktop", "GitHub, Inc.", LAD "GitHubDesktop", NULL, SRC_REGISTRY, PROF_DEV, 20,
      "3.4.8", "3.4.9", "3.4.12"),
    P("TortoiseGit {v} (64 bit)", "TortoiseGit", PF "TortoiseGit\\", NULL, SRC_MSI, PROF_DEV, 10,
      "2.16.0.0", "2.17.0.2"),
    P("TortoiseSVN {v} (64 bit)", "TortoiseSVN", PF "TortoiseSVN\\", NULL, SRC_MSI, PROF_DEV, 5,
      "1.14.7.29687", "1.14.9.29743"),
    P("Sourcetree", "Atlassian", LAD "SourceTree", NULL, SRC_REGISTRY, PROF_DEV, 6, "3.4.20",
      "3.4.21"),
    P("Microsoft Visual Studio Code (User)", MS, LAD "Programs\\Microsoft VS Code\\", NULL,
      SRC_REGISTRY, PROF_DEV, 85, "1.94.2", "1.95.3", "1.96.2", "1.96.4"),
    P("Microsoft Visual Studio Code", MS, PF "Microsoft VS Code\\", NULL, SRC_REGISTRY,
      PROF_OFFICE | PROF_SERVER, 6, "1.95.3", "1.96.4"),
    P("Visual Studio Community 2022", MS, PF "Microsoft Visual Studio\\2022\\Community",
      VS_COMPONENTS, SRC_REGISTRY, PROF_DEV, 35, "17.11.5", "17.12.3", "17.12.4"),
    P("Visual Studio Build Tools 2022", MS, PF86 "Microsoft Visual Studio\\2022\\BuildTools", NULL,
      SRC_REGISTRY, PROF_DEV | PROF_SERVER, 15, "17.11.5", "17.12.3"),
    P("Windows Software Development Kit - Windows {v}", MS, PF86 "Windows Kits\\10\\",
      SDK_COMPONENTS, SRC_REGISTRY, PROF_DEV, 30, "10.1.22621.3233|10.0.22621.3233",
      "10.1.26100.1742|10.0.26100.1742"),
    P("Python {v} (64-bit)", "Python Software Foundation", LAD "Programs\\Python\\Python312\\",
      PY_COMPONENTS, SRC_REGISTRY, PROF_DEV, 60, "3.12.6150.0|3.12.6", "3.12.7150.0|3.12.7",
      "3.12.8150.0|3.12.8"),
    P("Python {v} (64-bit)", "Python Software Foundation", LAD "Programs\\Python\\Python311\\",
      PY_COMPONENTS, SRC_REGISTRY, PROF_DEV, 25, "3.11.9150.0|3.11.9"),
    P("Python {v} (64-bit)", "Python Software Foundation", LAD "Programs\\Python\\Python313\\",
      PY_COMPONENTS, SRC_REGISTRY, PROF_DEV, 15, "3.13.0150.0|3.13.0", "3.13.1150.0|3.13.1"),
    P("Python Launcher", "Python Software Foundation", LAD "Programs\\Python\\Launcher\\", NULL,
      SRC_MSI, PROF_DEV, 55, "3.12.7150.0", "3.13.1150.0"),
    P("Node.js", "Node.js Foundation", PF "nodejs\\", NULL, SRC_MSI, PROF_DEV, 55, "20.18.0",
      "20.18.1", "22.11.0", "22.12.0"),
    P("Docker Desktop", "Docker Inc.", PF "Docker\\Docker", NULL, SRC_REGISTRY, PROF_DEV, 35,
      "4.34.3", "4.35.1", "4.36.0", "4.37.1"),
    P("Windows Subsystem for Linux", MS, NULL, NULL, SRC_MSI, PROF_DEV, 40, "2.2.4.0", "2.3.24.0",
      "2.3.26.0"),
    P("PowerShell 7-x64", MS, PF "PowerShell\\7\\", NULL, SRC_MSI, PROF_DEV | PROF_SERVER, 45,
      "7.4.5.0", "7.4.6.0"),
    P("Microsoft PowerToys (Preview) x64", MS, PF "PowerToys\\", NULL, SRC_REGISTRY, PROF_DEV, 20,
      "0.85.1", "0.86.0", "0.87.1"),
    P("Windows Terminal", MS, NULL, NULL, SRC_STORE, PROF_DEV, 10, "1.21.2911.0", "1.21.3231.0"),
    P("Microsoft Azure CLI (64-bit)", MS, PF "Microsoft SDKs\\Azure\\CLI2\\", NULL, SRC_MSI,
      PROF_DEV, 20, "2.65.0", "2.67.0"),
    P("AWS Command Line Interface v2", "Amazon Web Services", PF "Amazon\\AWSCLIV2\\", NULL,
      SRC_MSI, PROF_DEV, 15, "2.18.10.0", "2.22.4.0"),
    P("Go Programming Language amd64 go{v}", "https://go.dev", PF "Go\\", NULL, SRC_MSI, PROF_DEV,
      12, "1.23.2", "1.23.4"),
    P("CMake", "Kitware", PF "CMake\\", NULL, SRC_MSI, PROF_DEV, 18, "3.30.5", "3.31.2"),
    P("Postman x64 {v}", "Postman", LAD "Postman", NULL, SRC_REGISTRY, PROF_DEV, 30, "11.18.0",
      "11.23.3"),
    P("IntelliJ IDEA Community Edition {v}", "JetBrains s.r.o.",
      PF "JetBrains\\IntelliJ IDEA Community Edition {v}", NULL, SRC_REGISTRY, PROF_DEV, 15,
      "242.23726.103|2024.2.4", "243.22562.218|2024.3.1"),
    P("PyCharm Community Edition {v}", "JetBrains s.r.o.",
      PF "JetBrains\\PyCharm Community Edition {v}", NULL, SRC_REGISTRY, PROF_DEV, 12,
      "243.22562.220|2024.3.1"),
    P("JetBrains Toolbox", "JetBrains s.r.o.", LAD "JetBrains\\Toolbox", NULL, SRC_REGISTRY,
      PROF_DEV, 12, "2.5.1.34629", "2.5.2.35332"),
    P("Android Studio", "Google LLC", PF "Android\\Android Studio", NULL, SRC_REGISTRY, PROF_DEV, 6,
      "2024.2.1.11", "2024.2.2.13"),
    P("Eclipse Temurin JDK with Hotspot {v} (x64)", "Eclipse Adoptium",
      PF "Eclipse Adoptium\\jdk-{v}-hotspot\\", NULL, SRC_MSI, PROF_DEV | PROF_SERVER, 30,
      "17.0.12.7|17.0.12+7", "17.0.13.11|17.0.13+11"),
    P("Microsoft Build of OpenJDK with Hotspot {v} (x64)", "Microsoft",
      PF "Microsoft\\jdk-{v}-hotspot\\", NULL, SRC_MSI, PROF_DEV, 15, "21.0.4.7|21.0.4+7",
      "21.0.5.11|21.0.5+11"),
    P("Java(TM) SE Development Kit {v} (64-bit)", "Oracle Corporation", PF "Java\\jdk-21\\", NULL,
      SRC_MSI, PROF_DEV, 12, "21.0.4.0|21.0.4", "21.0.5.0|21.0.5"),
    P("WinMerge {v} x64", "Thingamahoochie Software", PF "WinMerge\\", NULL, SRC_REGISTRY, PROF_DEV,
      15, "2.16.42.1", "2.16.44.0"),
    P("Beyond Compare {v}", "Scooter Software", PF "Beyond Compare\\", NULL, SRC_REGISTRY, PROF_DEV,
      8, "4.4.7.28397|4.4.7", "5.0.4.30422|5.0.4"),
    P("Everything {v} (x64)", "voidtools", PF "Everything", NULL, SRC_REGISTRY, PROF_DEV, 10,
      "1.4.1.1024", "1.4.1.1026"),
    P("Obsidian", "Obsidian", LAD "Programs\\Obsidian", NULL, SRC_REGISTRY, PROF_DEV, 6, "1.7.6",
      "1.7.7"),
    P("Wireshark {v} x64", "The Wireshark developer community, https://www.wireshark.org",
      PF "Wireshark", NULL, SRC_REGISTRY, PROF_DEV | PROF_SERVER, 15, "4.2.8", "4.4.2"),
    P("Npcap", "Nmap Project", PF "Npcap", NULL, SRC_REGISTRY, PROF_DEV, 12, "1.79", "1.80"),
    P("Oracle VirtualBox {v}", "Oracle and/or its affiliates", PF "Oracle\\VirtualBox\\", NULL,
      SRC_MSI, PROF_DEV, 8, "7.0.20", "7.1.4"),
    P("VMware Workstation", "VMware, Inc.", PF86 "VMware\\VMware Workstation\\", NULL, SRC_MSI,
      PROF_DEV, 5, "17.5.2", "17.6.1"),
    P("Vagrant", "HashiCorp", PF "Vagrant\\", NULL, SRC_MSI, PROF_DEV, 3, "2.4.1", "2.4.3"),
    P("Azure Data Studio", MS, PF "Azure Data Studio\\", NULL, SRC_REGISTRY, PROF_DEV, 10, "1.49.1",
      "1.50.0"),
    P("HeidiSQL {v}", "Ansgar Becker", PF "HeidiSQL\\", NULL, SRC_REGISTRY, PROF_DEV, 8,
      "12.7.0.6850", "12.8.0.6908"),
    P("DBeaver {v}", "DBeaver Corp", PF "DBeaver", NULL, SRC_REGISTRY, PROF_DEV, 12, "24.2.5",
      "24.3.1"),
    P("pgAdmin 4", "The pgAdmin Development Team", PF "pgAdmin 4\\", NULL, SRC_REGISTRY, PROF_DEV,
      6, "8.12", "8.14"),
    P("PostgreSQL 16 ", "PostgreSQL Global Development Group", PF "PostgreSQL\\16", NULL,
      SRC_REGISTRY, PROF_DEV | PROF_SERVER, 5, "16.4-1", "16.6-1"),
    P("MySQL Workbench 8.0 CE", "Oracle Corporation", PF "MySQL\\MySQL Workbench 8.0\\", NULL,
      SRC_MSI, PROF_DEV, 5, "8.0.38", "8.0.40"),
    P("NVIDIA Graphics Driver {v}", "NVIDIA Corporation", PF "NVIDIA Corporation\\",
      "NVIDIA HD Audio Driver 1.4.2.6;NVIDIA PhysX System Software 9.23.1019;NVIDIA FrameView SDK "
      "1.4.10674.35081",
      SRC_REGISTRY, PROF_DEV, 15, "552.22", "566.36"),

    /* Servers: SQL Server, IIS add-ons, monitoring, backup. */
    P("Microsoft SQL Server Management Studio - {v}", MS,
      PF86 "Microsoft SQL Server Management Studio 20\\", NULL, SRC_REGISTRY,
      PROF_DEV | PROF_SERVER, 30, "19.3.4.0|19.3", "20.2.30.0|20.2"),
    P("Microsoft SQL Server 2022 (64-bit)", MS, PF "Microsoft SQL Server\\", SQL_COMPONENTS,
      SRC_REGISTRY, PROF_SERVER, 30, "16.0.1000.6", "16.0.4155.4", "16.0.4165.4"),
    P("Microsoft ODBC Driver 17 for SQL Server", MS, NULL, NULL, SRC_MSI, PROF_DEV | PROF_SERVER,
      35, "17.10.5.1", "17.10.6.1"),
    P("Microsoft ODBC Driver 18 for SQL Server", MS, NULL, NULL, SRC_MSI, PROF_DEV | PROF_SERVER,
      20, "18.3.3.1", "18.4.1.1"),
    P("Microsoft OLE DB Driver for SQL Server", MS, NULL, NULL, SRC_MSI, PROF_SERVER, 25,
      "18.7.2.0", "18.7.4.0"),
    P("IIS URL Rewrite Module 2", MS, NULL, NULL, SRC_MSI, PROF_SERVER, 15, "7.2.1993"),
    P("Microsoft Web Deploy 4.0", MS, PF "IIS\\Microsoft Web Deploy V3\\", NULL, SRC_MSI,
      PROF_SERVER, 12, "10.0.1994", "10.0.2001"),
    P("Windows Admin Center", MS, PF "WindowsAdminCenter\\", NULL, SRC_MSI, PROF_SERVER, 10,
      "1.5.2306.14001", "2.4.2410.23001"),
    P("Splunk UniversalForwarder", "Splunk, Inc.", PF "SplunkUniversalForwarder\\", NULL, SRC_MSI,
      PROF_SERVER, 25, "9.2.3.0", "9.3.2.0"),
    P("Zabbix Agent 2 (64-bit)", "Zabbix SIA", PF "Zabbix Agent 2\\", NULL, SRC_MSI, PROF_SERVER,
      20, "6.4.20.2400", "7.0.6.2400"),
    P("Veeam Agent for Microsoft Windows", "Veeam Software Group GmbH",
      PF "Veeam\\Endpoint Backup\\", NULL, SRC_MSI, PROF_SERVER, 15, "6.1.2.134", "6.2.0.121"),

    /* Drivers and OEM tools. */
    P("Realtek Audio Driver", "Realtek Semiconductor Corp.", PF "Realtek\\Audio\\HDA", NULL,
      SRC_REGISTRY, PROF_WS, 45, "6.0.9239.1", "6.0.9549.1"),
    P("Intel(R) Chipset Device Software", "Intel(R) Corporation", NULL, NULL, SRC_REGISTRY, PROF_WS,
      50, "10.1.19444.8378", "10.1.19627.8423"),
    P("Intel(R) Management Engine Components", "Intel Corporation", NULL, NULL, SRC_MSI, PROF_WS,
      40, "2335.4.3.0", "2406.5.5.0"),
    P("Intel® Serial IO", "Intel Corporation", NULL, NULL, SRC_REGISTRY, PROF_WS, 30,
      "30.100.2237.26", "30.100.2405.44"),
    P("Intel(R) Wireless Bluetooth(R)", "Intel Corporation", NULL, NULL, SRC_MSI, PROF_WS, 35,
      "23.60.0.1", "23.80.0.3"),
    OEM("Dell Inc.", "Dell SupportAssist", "Dell Inc.", PF "Dell\\SupportAssistAgent\\", NULL,
        SRC_MSI, PROF_WS, 70, "4.4.3.28021", "4.6.1.31281"),
    OEM("Dell Inc.", "Dell Command | Update for Windows Universal", "Dell Inc.",
        PF "Dell\\CommandUpdate\\", NULL, SRC_MSI, PROF_WS, 60, "5.3.0", "5.4.0"),
    OEM("Dell Inc.", "Dell Peripheral Manager", "Dell Inc.", PF "Dell\\Dell Peripheral Manager\\",
        NULL, SRC_REGISTRY, PROF_WS, 20, "1.7.6", "1.7.7"),
    OEM("Dell Inc.", "Dell OpenManage Server Administrator", "Dell Inc.", PF "Dell\\SysMgt\\", NULL,
        SRC_MSI, PROF_SERVER, 60, "11.0.1.0"),
    OEM("HP", "HP Wolf Security", "HP Inc.", NULL,
        "HP Wolf Security - Console;HP Security Update Service", SRC_MSI, PROF_WS, 60,
        "4.6.14.1071", "4.6.17.1190"),
    OEM("HP", "HP Support Assistant", "HP Inc.", PF86 "HP\\HP Support Framework\\", NULL,
        SRC_REGISTRY, PROF_WS, 50, "9.27.53.0", "9.40.12.0"),
    OEM("HP", "HP Connection Optimizer", "HP Inc.", PF86 "HP\\HP Connection Optimizer", NULL,
        SRC_REGISTRY, PROF_WS, 30, "2.0.19.0", "2.0.21.0"),
    OEM("LENOVO", "Lenovo Vantage Service", "Lenovo Group Ltd.", PF86 "Lenovo\\VantageService\\",
        NULL, SRC_REGISTRY, PROF_WS, 70, "4.1.5.0", "4.2.30.0"),
    OEM("LENOVO", "Lenovo System Update", "Lenovo", PF86 "Lenovo\\System Update\\", NULL,
        SRC_REGISTRY, PROF_WS, 40, "5.08.02.25", "5.08.03.59"),
    OEM("Microsoft Corporation", "Surface", MS, NULL, NULL, SRC_STORE, PROF_WS, 80, "106.1.11.0",
        "107.1.20.0"),
    OEM("VMware, Inc.", "VMware Tools", "VMware, Inc.", PF "VMware\\VMware Tools\\", NULL, SRC_MSI,
        PROF_ALL, 100, "12.4.5.23787635", "12.5.0.24276846"),
    OEM("HPE", "HPE Agentless Management Service", "Hewlett Packard Enterprise", NULL, NULL,
        SRC_MSI, PROF_SERVER, 70, "3.62.0.0"),
};
const size_t catalog_product_count = ARRAY_LEN(catalog_products);

/* Cumulative updates, October 2024 to January 2025 (build.UBR, KB, date). */
static const catalog_build_t builds_w10_22h2[] = {
    {"19045.5011", "KB5044273", "2024-10-08"},
    {"19045.5131", "KB5046613", "2024-11-12"},
    {"19045.5247", "KB5048652", "2024-12-10"},
    {"19045.5371", "KB5049981", "2025-01-14"},
    {NULL, NULL, NULL},
};
static const catalog_build_t builds_w11_23h2[] = {
    {"22631.4317", "KB5044285", "2024-10-08"},
    {"22631.4460", "KB5046633", "2024-11-12"},
    {"22631.4602", "KB5048685", "2024-12-10"},
    {"22631.4751", "KB5050021", "2025-01-14"},
    {NULL, NULL, NULL},
};
static const catalog_build_t builds_w11_24h2[] = {
    {"26100.2033", "KB5044284", "2024-10-08"},
    {"26100.2314", "KB5046617", "2024-11-12"},
    {"26100.2605", "KB5048667", "2024-12-10"},
    {"26100.2894", "KB5050009", "2025-01-14"},
    {NULL, NULL, NULL},
};
static const catalog_build_t builds_s2019[] = {
    {"17763.6414", "KB5044277", "2024-10-08"},
    {"17763.6532", "KB5046615", "2024-11-12"},
    {"17763.6659", "KB5048661", "2024-12-10"},
    {"17763.6775", "KB5050008", "2025-01-14"},
    {NULL, NULL, NULL},
};
static const catalog_build_t builds_s2022[] = {
    {"20348.2762", "KB5044281", "2024-10-08"},
    {"20348.2849", "KB5046616", "2024-11-12"},
    {"20348.2966", "KB5048654", "2024-12-10"},
    {"20348.3091", "KB5049983", "2025-01-14"},
    {NULL, NULL, NULL},
};

static const char *const extra_w10[] = {
    "KB5011048|Update|2022-08-09",
    "KB5015684|Update|2022-10-18",
    "KB5012170|Security Update|2022-08-09",
    "KB5034441|Security Update|2024-01-09",
    NULL,
};
static const char *const extra_w11_23h2[] = {
    "KB5027397|Update|2023-10-31",
    "KB5012170|Security Update|2022-08-09",
    "KB5045935|Update|2024-10-08",
    NULL,
};
static const char *const extra_w11_24h2[] = {
    "KB5043080|Update|2024-09-10",
    "KB5045935|Update|2024-10-08",
    NULL,
};
static const char *const extra_s2019[] = {
    "KB5005112|Security Update|2021-08-10",
    "KB5012170|Security Update|2022-08-09",
    "KB4589208|Update|2021-01-12",
    NULL,
};
static const char *const extra_s2022[] = {
    "KB5012170|Security Update|2022-08-09",
    "KB5044025|Update|2024-10-08",
    NULL,
};

const catalog_os_t catalog_os[] = {
    {"Microsoft Windows 11 Enterprise", "10.0.22631", PROF_WS, 30, 1, builds_w11_23h2,
     extra_w11_23h2},
    {"Microsoft Windows 11 Enterprise", "10.0.26100", PROF_WS, 20, 1, builds_w11_24h2,
     extra_w11_24h2},
    {"Microsoft Windows 11 Pro", "10.0.22631", PROF_WS, 10, 1, builds_w11_23h2, extra_w11_23h2},
    {"Microsoft Windows 11 Pro", "10.0.26100", PROF_WS, 5, 1, builds_w11_24h2, extra_w11_24h2},
    {"Microsoft Windows 10 Enterprise", "10.0.19045", PROF_WS, 25, 0, builds_w10_22h2, extra_w10},
    {"Microsoft Windows 10 Pro", "10.0.19045", PROF_WS, 10, 0, builds_w10_22h2, extra_w10},
    {"Microsoft Windows Server 2022 Standard", "10.0.20348", PROF_SERVER, 40, 0, builds_s2022,
     extra_s2022},
    {"Microsoft Windows Server 2022 Datacenter", "10.0.20348", PROF_SERVER, 20, 0, builds_s2022,
     extra_s2022},
    {"Microsoft Windows Server 2019 Standard", "10.0.17763", PROF_SERVER, 30, 0, builds_s2019,
     extra_s2019},
    {"Microsoft Windows Server 2019 Datacenter", "10.0.17763", PROF_SERVER, 10, 0, builds_s2019,
     extra_s2019},
};
const size_t catalog_os_count = ARRAY_LEN(catalog_os);

const catalog_hw_t catalog_hw[] = {
    {"Dell Inc.",
     "Latitude 5440",
     "13th Gen Intel(R) Core(TM) i5-1345U",
     10,
     HW_LAPTOP,
     SERIAL_DELL,
     0,
     14,
     "D0-94-66",
     {16, 16, 32, 8}},
    {"Dell Inc.",
     "Latitude 7440",
     "13th Gen Intel(R) Core(TM) i7-1365U",
     10,
     HW_LAPTOP,
     SERIAL_DELL,
     0,
     8,
     "D0-94-66",
     {16, 32, 32, 0}},
    {"Dell Inc.",
     "Precision 5680",
     "13th Gen Intel(R) Core(TM) i9-13900H",
     14,
     HW_LAPTOP,
     SERIAL_DELL,
     0,
     3,
     "B0-4F-13",
     {32, 64, 0, 0}},
    {"Dell Inc.",
     "OptiPlex 7010",
     "13th Gen Intel(R) Core(TM) i5-13500",
     14,
     HW_DESKTOP,
     SERIAL_DELL,
     0,
     10,
     "B0-4F-13",
     {8, 16, 16, 32}},
    {"HP",
     "HP EliteBook 840 G10",
     "13th Gen Intel(R) Core(TM) i7-1365U",
     10,
     HW_LAPTOP,
     SERIAL_HP,
     0,
     12,
     "3C-52-82",
     {16, 32, 32, 0}},
    {"HP",
     "HP ProBook 450 G9",
     "12th Gen Intel(R) Core(TM) i5-1235U",
     10,
     HW_LAPTOP,
     SERIAL_HP,
     0,
     8,
     "64-4E-D7",
     {8, 16, 16, 0}},
    {"HP",
     "HP EliteDesk 800 G9 Desktop Mini PC",
     "12th Gen Intel(R) Core(TM) i7-12700T",
     12,
     HW_DESKTOP,
     SERIAL_HP,
     0,
     6,
     "64-4E-D7",
     {16, 32, 0, 0}},
    {"LENOVO",
     "ThinkPad T14 Gen 4",
     "13th Gen Intel(R) Core(TM) i5-1345U",
     10,
     HW_LAPTOP,
     SERIAL_LENOVO,
     0,
     12,
     "8C-8C-AA",
     {16, 16, 32, 0}},
    {"LENOVO",
     "ThinkPad X1 Carbon Gen 11",
     "13th Gen Intel(R) Core(TM) i7-1365U",
     10,
     HW_LAPTOP,
     SERIAL_LENOVO,
     0,
     5,
     "8C-8C-AA",
     {16, 32, 0, 0}},
    {"LENOVO",
     "ThinkCentre M70q Gen 3",
     "12th Gen Intel(R) Core(TM) i5-12500T",
     6,
     HW_DESKTOP,
     SERIAL_LENOVO,
     0,
     5,
     "6C-24-08",
     {8, 16, 0, 0}},
    {"Microsoft Corporation",
     "Surface Laptop 5",
     "12th Gen Intel(R) Core(TM) i5-1245U",
     10,
     HW_LAPTOP,
     SERIAL_SURFACE,
     0,
     5,
     "28-16-A8",
     {8, 16, 16, 0}},
    {"Microsoft Corporation",
     "Surface Laptop, 7th Edition",
     "Snapdragon(R) X Elite - X1E80100 - Qualcomm(R) Oryon(TM) CPU",
     12,
     HW_LAPTOP,
     SERIAL_SURFACE,
     1,
     3,
     "28-16-A8",
     {16, 32, 0, 0}},
    {"Microsoft Corporation",
     "Surface Pro 9",
     "Microsoft SQ(R) 3 @ 3.0 GHz",
     8,
     HW_LAPTOP,
     SERIAL_SURFACE,
     1,
     2,
     "28-16-A8",
     {16, 16, 0, 0}},
    {"To be filled by O.E.M.",
     "To be filled by O.E.M.",
     "AMD Ryzen 7 5700G with Radeon Graphics",
     8,
     HW_DESKTOP,
     SERIAL_JUNK,
     0,
     2,
     "04-7C-16",
     {16, 32, 0, 0}},
    {"Dell Inc.",
     "PowerEdge R650",
     "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
     64,
     HW_SERVER,
     SERIAL_DELL,
     0,
     15,
     "B0-26-28",
     {128, 255, 0, 0}},
    {"HPE",
     "ProLiant DL380 Gen10 Plus",
     "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
     32,
     HW_SERVER,
     SERIAL_HPE,
     0,
     10,
     "94-40-C9",
     {64, 128, 0, 0}},
    {"VMware, Inc.",
     "VMware7,1",
     "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
     4,
     HW_VM,
     SERIAL_VMWARE,
     0,
     45,
     "00-50-56",
     {8, 16, 16, 32}},
    {"Microsoft Corporation",
     "Virtual Machine",
     "AMD EPYC 7763 64-Core Processor",
     4,
     HW_VM,
     SERIAL_HYPERV,
     0,
     30,
     "00-15-5D",
     {8, 16, 32, 0}},
};
const size_t catalog_hw_count = ARRAY_LEN(catalog_hw);

#define SYS32 "C:\\Windows\\System32\\"

const catalog_proc_t catalog_procs[] = {
    {"svchost.exe", SYS32 "svchost.exe",
     "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule", RUN_SYSTEM, PROF_ALL, 30,
     NET_NONE},
    {"svchost.exe", SYS32 "svchost.exe",
     "C:\\Windows\\system32\\svchost.exe -k NetworkService -p -s Dnscache", RUN_NETWORK_SERVICE,
     PROF_ALL, 20, NET_DNS},
    {"svchost.exe", SYS32 "svchost.exe",
     "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p -s Dhcp",
     RUN_LOCAL_SERVICE, PROF_ALL, 8, NET_NONE},
    {"svchost.exe", SYS32 "svchost.exe",
     "C:\\Windows\\System32\\svchost.exe -k NetworkService -s TermService", RUN_NETWORK_SERVICE,
     PROF_ALL, 4, NET_LISTEN_RDP},
    {"System", "", "", RUN_SYSTEM, PROF_ALL, 3, NET_LISTEN_SMB},
    {"RuntimeBroker.exe", SYS32 "RuntimeBroker.exe",
     "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding", RUN_USER, PROF_WS, 15, NET_NONE},
    {"dllhost.exe", SYS32 "dllhost.exe",
     "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
     RUN_USER, PROF_WS, 10, NET_NONE},
    {"conhost.exe", SYS32 "conhost.exe",
     "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", RUN_USER, PROF_ALL, 10,
     NET_NONE},
    {"taskhostw.exe", SYS32 "taskhostw.exe", "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
     RUN_USER, PROF_WS, 6, NET_NONE},
    {"backgroundTaskHost.exe", SYS32 "backgroundTaskHost.exe",
     "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" "
     "-ServerName:BackgroundTaskHost.WebAccountProvider",
     RUN_USER, PROF_WS, 6, NET_NONE},
    {"SearchProtocolHost.exe", SYS32 "SearchProtocolHost.exe",
     "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe_S-1-5-21-"
     "{r}_ Global\\UsGthrCtrlFltPipeMssGthrPipe_S-1-5-21-{r} 1 -2147483646 \"Software\\Microsoft\\"
     "Windows Search\" \"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)\" "
     "\"C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc\" \"DownLevelDaemon\"",
     RUN_SYSTEM, PROF_WS, 5, NET_NONE},
    {"powershell.exe", SYS32 "WindowsPowerShell\\v1.0\\powershell.exe",
     "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile "
     "-NonInteractive -ExecutionPolicy Bypass -File \"C:\\Program Files (x86)\\Microsoft Intune "
     "Management Extension\\Policies\\Scripts\\{r}_1.ps1\"",
     RUN_SYSTEM, PROF_WS, 6, NET_WEB},
    {"powershell.exe", SYS32 "WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -ExecutionPolicy Bypass -Command \"Get-Service | Where-Object Status -eq "
     "'Stopped'\"",
     RUN_USER, PROF_DEV | PROF_SERVER, 4, NET_NONE},
    {"cmd.exe", SYS32 "cmd.exe", "C:\\Windows\\system32\\cmd.exe /c \"C:\\Windows\\Temp\\{r}.cmd\"",
     RUN_SYSTEM, PROF_ALL, 5, NET_NONE},
    {"explorer.exe", "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", RUN_USER, PROF_WS, 3,
     NET_NONE},
    {"chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
     "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer "
     "--lang=en-US --js-flags=--ms-user-locale= --device-scale-factor=1.25 "
     "--num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id={r} "
     "--launch-time-ticks={r} --field-trial-handle=1932,i,{r},{r},262144 --variations-seed-version "
     "--mojo-platform-channel-handle=5432 /prefetch:1",
     RUN_USER, PROF_WS, 40, NET_WEB},
    {"msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
     "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --type=utility "
     "--utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none "
     "--field-trial-handle=2012,i,{r},{r},262144 --mojo-platform-channel-handle=2380 /prefetch:3",
     RUN_USER, PROF_ALL, 25, NET_WEB},
    {"ms-teams.exe",
     "C:\\Program Files\\WindowsApps\\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\\ms-teams.exe",
     "\"C:\\Program Files\\WindowsApps\\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\\"
     "ms-teams.exe\" msteams:system-initiated",
     RUN_USER, PROF_WS, 10, NET_WEB},
    {"OUTLOOK.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
     "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\" ", RUN_USER, PROF_WS, 6,
     NET_WEB},
    {"EXCEL.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
     "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE\" \"C:\\Users\\{u}\\"
     "OneDrive - Contoso\\Documents\\Budget FY25 (Entwurf).xlsx\"",
     RUN_USER, PROF_OFFICE, 6, NET_WEB},
    {"WINWORD.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
     "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\{u}\\"
     "Downloads\\Vertrag_Entwurf_v3.docx\" /o \"\"",
     RUN_USER, PROF_OFFICE, 6, NET_WEB},
    {"OneDrive.exe", "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe",
     "\"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe\" /background", RUN_USER, PROF_WS, 5,
     NET_WEB},
    {"Code.exe", "C:\\Users\\{u}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe",
     "\"C:\\Users\\{u}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe\" "
     "--type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US "
     "--service-sandbox-type=none --field-trial-handle=1804,i,{r},{r},262144 /prefetch:8",
     RUN_USER, PROF_DEV, 15, NET_WEB},
    {"git.exe", "C:\\Program Files\\Git\\cmd\\git.exe",
     "\"C:\\Program Files\\Git\\cmd\\git.exe\" fetch --all --prune --no-recurse-submodules",
     RUN_USER, PROF_DEV, 10, NET_WEB},
    {"python.exe", "C:\\Users\\{u}\\AppData\\Local\\Programs\\Python\\Python312\\python.exe",
     "\"C:\\Users\\{u}\\AppData\\Local\\Programs\\Python\\Python312\\python.exe\" -m pip install "
     "--upgrade requests==2.32.3",
     RUN_USER, PROF_DEV, 6, NET_WEB},
    {"node.exe", "C:\\Program Files\\nodejs\\node.exe",
     "\"C:\\Program Files\\nodejs\\node.exe\" node_modules\\vite\\bin\\vite.js --port 5173",
     RUN_USER, PROF_DEV, 6, NET_NONE},
    {"java.exe", "C:\\Program Files\\Eclipse Adoptium\\jdk-17.0.13+11-hotspot\\bin\\java.exe",
     "\"C:\\Program Files\\Eclipse Adoptium\\jdk-17.0.13+11-hotspot\\bin\\java.exe\" -Xmx2g -jar "
     "C:\\Tools\\gradle\\lib\\gradle-launcher-8.11.1.jar",
     RUN_USER, PROF_DEV, 4, NET_WEB},
    {"Docker Desktop.exe", "C:\\Program Files\\Docker\\Docker\\Docker Desktop.exe",
     "\"C:\\Program Files\\Docker\\Docker\\Docker Desktop.exe\" --name=dashboard", RUN_USER,
     PROF_DEV, 3, NET_NONE},
    {"wsl.exe", SYS32 "wsl.exe", "C:\\Windows\\system32\\wsl.exe -d Ubuntu-24.04", RUN_USER,
     PROF_DEV, 3, NET_NONE},
    {"7zFM.exe", "C:\\Program Files\\7-Zip\\7zFM.exe",
     "\"C:\\Program Files\\7-Zip\\7zFM.exe\" \"C:\\Users\\{u}\\Downloads\\logs-{r}.zip\"", RUN_USER,
     PROF_ALL, 3, NET_NONE},
    {"notepad++.exe", "C:\\Program Files\\Notepad++\\notepad++.exe",
     "\"C:\\Program Files\\Notepad++\\notepad++.exe\" \"C:\\Users\\{u}\\Desktop\\Notizen.txt\"",
     RUN_USER, PROF_ALL, 4, NET_NONE},
    {"Zoom.exe", "C:\\Program Files\\Zoom\\bin\\Zoom.exe",
     "\"C:\\Program Files\\Zoom\\bin\\Zoom.exe\" \"--url=zoommtg://zoom.us/join?action=join&"
     "confno={r}\"",
     RUN_USER, PROF_WS, 4, NET_WEB},
    {"slack.exe", "C:\\Program Files\\Slack\\slack.exe",
     "\"C:\\Program Files\\Slack\\slack.exe\" --process-start-args --startup", RUN_USER, PROF_WS, 4,
     NET_WEB},
    {"Acrobat.exe", "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe",
     "\"C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe\" \"C:\\Users\\{u}\\Downloads\\"
     "Rechnung_2024-0423.pdf\"",
     RUN_USER, PROF_WS, 4, NET_WEB},
    {"mstsc.exe", SYS32 "mstsc.exe", "\"C:\\Windows\\system32\\mstsc.exe\" /v:SRV-SQL-02", RUN_USER,
     PROF_DEV, 3, NET_RDP_OUT},
    {"putty.exe", "C:\\Program Files\\PuTTY\\putty.exe",
     "\"C:\\Program Files\\PuTTY\\putty.exe\" -ssh admin@10.20.0.15", RUN_USER,
     PROF_DEV | PROF_SERVER, 2, NET_SSH},
    {"MsMpEng.exe",
     "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe",
     "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe\"",
     RUN_SYSTEM, PROF_ALL, 2, NET_WEB},
    {"MpCmdRun.exe",
     "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe",
     "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe\" "
     "SignatureUpdate -ScheduleJob -RestrictPrivileges",
     RUN_SYSTEM, PROF_ALL, 4, NET_WEB},
    {"TiWorker.exe",
     "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.22621.4455"
     "_none_5d8fd3b8a1c4b0e2\\TiWorker.exe",
     "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.22621.4455"
     "_none_5d8fd3b8a1c4b0e2\\TiWorker.exe -Embedding",
     RUN_SYSTEM, PROF_ALL, 3, NET_NONE},
    {"MoUsoCoreWorker.exe", SYS32 "MoUsoCoreWorker.exe",
     "C:\\Windows\\System32\\mousocoreworker.exe -Embedding", RUN_SYSTEM, PROF_ALL, 3, NET_WEB},
    {"CcmExec.exe", "C:\\Windows\\CCM\\CcmExec.exe", "C:\\Windows\\CCM\\CcmExec.exe", RUN_SYSTEM,
     PROF_ALL, 2, NET_WEB},
    {"Microsoft.Management.Services.IntuneWindowsAgent.exe",
     "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\"
     "Microsoft.Management.Services.IntuneWindowsAgent.exe",
     "\"C:\\Program Files (x86)\\Microsoft Intune Management Extension\\"
     "Microsoft.Management.Services.IntuneWindowsAgent.exe\"",
     RUN_SYSTEM, PROF_WS, 2, NET_WEB},
    {"sqlservr.exe",
     "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe",
     "\"C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe\" "
     "-sMSSQLSERVER",
     RUN_SQL, PROF_SERVER, 6, NET_SQL},
    {"sqlwriter.exe", "C:\\Program Files\\Microsoft SQL Server\\90\\Shared\\sqlwriter.exe",
     "\"C:\\Program Files\\Microsoft SQL Server\\90\\Shared\\sqlwriter.exe\"", RUN_SYSTEM,
     PROF_SERVER, 2, NET_NONE},
    {"w3wp.exe", "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
     "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"DefaultAppPool\" -v \"v4.0\" -l "
     "\"webengine4.dll\" -a \\\\.\\pipe\\iisipm{r} -h \"C:\\inetpub\\temp\\apppools\\"
     "DefaultAppPool\\DefaultAppPool.config\" -w \"\" -m 0 -t 20 -ta 0",
     RUN_IIS, PROF_SERVER, 6, NET_IIS},
    {"dfsrs.exe", SYS32 "dfsrs.exe", "C:\\Windows\\system32\\DFSRs.exe", RUN_SYSTEM, PROF_SERVER, 2,
     NET_SMB},
    {"splunkd.exe", "C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunkd.exe",
     "\"C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunkd.exe\" service", RUN_SYSTEM,
     PROF_SERVER, 3, NET_WEB},
    {"robocopy.exe", SYS32 "Robocopy.exe",
     "robocopy \"\\\\SRV-FS-01\\Abteilungen\\Finanzen\" \"D:\\Sicherung\\Finanzen\" /MIR /R:2 /W:5 "
     "/LOG+:C:\\Logs\\robocopy-{r}.log",
     RUN_SYSTEM, PROF_SERVER, 2, NET_SMB},
};
const size_t catalog_proc_count = ARRAY_LEN(catalog_procs);

const catalog_peer_t catalog_web_peers[] = {
    {142, 250, 443}, /* Google */
    {172, 217, 443}, /* Google */
    {13, 107, 443},  /* Microsoft 365 */
    {52, 96, 443},   /* Exchange Online */
    {20, 190, 443},  /* Entra ID */
    {40, 126, 443},  /* Entra ID */
    {52, 112, 443},  /* Teams */
    {170, 114, 443}, /* Zoom */
    {104, 16, 443},  /* Cloudflare */
    {23, 45, 80},    /* Akamai, plain HTTP (CRL/OCSP) */
    {151, 101, 443}, /* Fastly */
    {3, 120, 443},   /* AWS */
};
const size_t catalog_web_peer_count = ARRAY_LEN(catalog_web_peers);

const char *const catalog_file_op_names[4] = {"create", "write", "remove", "rename"};

#define USERDIR "C:\\Users\\{u}\\"

const catalog_file_t catalog_files[] = {
    {FOP_CREATE, PROF_WS, USERDIR "Downloads\\{f}", NULL, 8192},
    {FOP_WRITE, PROF_WS, USERDIR "OneDrive - Contoso\\Documents\\{f}", NULL, 4096},
    {FOP_RENAME, PROF_OFFICE, USERDIR "Documents\\{f}", USERDIR "Documents\\~WRL{r}.tmp", 2048},
    {FOP_REMOVE, PROF_WS, USERDIR "AppData\\Local\\Temp\\{r}.tmp", NULL, 0},
    {FOP_CREATE, PROF_WS, USERDIR "AppData\\Local\\Temp\\chrome_BITS_{r}\\setup.exe", NULL, 98304},
    {FOP_WRITE, PROF_WS, USERDIR "AppData\\Local\\Microsoft\\Outlook\\{u}@contoso.com.ost", NULL,
     0},
    {FOP_CREATE, PROF_ALL, "C:\\Windows\\Temp\\{r}.tmp", NULL, 512},
    {FOP_REMOVE, PROF_ALL, "C:\\Windows\\Temp\\{r}.tmp", NULL, 0},
    {FOP_WRITE, PROF_ALL,
     "C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-PowerShell%4Operational.evtx", NULL,
     0},
    {FOP_CREATE, PROF_ALL, "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\mpcache-{r}.bin",
     NULL, 1024},
    {FOP_WRITE, PROF_ALL, "C:\\Windows\\SoftwareDistribution\\DataStore\\Logs\\edb.log", NULL, 0},
    {FOP_CREATE, PROF_DEV, USERDIR "source\\repos\\{r}\\bin\\Debug\\net8.0\\App.dll", NULL, 512},
    {FOP_WRITE, PROF_DEV, USERDIR "source\\repos\\inventory-api\\src\\Program.cs", NULL, 32},
    {FOP_RENAME, PROF_DEV, USERDIR "source\\repos\\inventory-api\\.git\\index",
     USERDIR "source\\repos\\inventory-api\\.git\\index.lock", 256},
    {FOP_CREATE, PROF_SERVER, "D:\\MSSQL\\Backup\\SalesDB_FULL_{r}.bak", NULL, 4194304},
    {FOP_WRITE, PROF_SERVER, "C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex{r}.log", NULL, 65536},
    {FOP_REMOVE, PROF_SERVER, "D:\\Sicherung\\Finanzen\\Archiv\\Jahresabschluss {r}.zip", NULL, 0},
};
const size_t catalog_file_count = ARRAY_LEN(catalog_files);

const char *const catalog_documents[] = {
    "Angebot_Müller_GmbH.pdf",
    "Présentation Q4.pptx",
    "Rechnung_2024-0423.pdf",
    "見積書_2024.xlsx",
    "Budget FY25 (Entwurf).xlsx",
    "Résumé - Zoë.docx",
    "Protokoll Besprechung 12.11.docx",
    "IMG_4032.HEIC",
    "setup_x64.msi",
    "Quarterly Report Q3.pptx",
    "Kundenliste Übersicht.xlsx",
    "contract_signed (1).pdf",
    "🎉 Team Party.png",
    "Reisekostenabrechnung_Oktober.xlsx",
    "Lieferschein_784512.pdf",
};
const size_t catalog_document_count = ARRAY_LEN(catalog_documents);

const char *const catalog_first_names[] = {
    "anna", "lukas", "jürgen",   "zoë",  "mateo", "sofia",  "liam", "olivia",
    "noah", "emma",  "françois", "mei",  "raj",   "fatima", "omar", "aiko",
    "yuki", "chen",  "priya",    "jose", "ana",   "björn",  "sara", "david",
};
const size_t catalog_first_name_count = ARRAY_LEN(catalog_first_names);

const char *const catalog_last_names[] = {
    "muller",   "schmidt",  "weiß",   "lefèvre", "dubois", "novak", "becker",  "rossi",
    "kowalski", "nakamura", "tanaka", "patel",   "haddad", "smith", "johnson", "garcia",
    "wang",     "sharma",   "hassan", "brown",   "núñez",  "åberg", "fischer", "meyer",
};
const size_t catalog_last_name_count = ARRAY_LEN(catalog_last_names);

const catalog_domain_t catalog_domains[] = {
    {"corp.contoso.com", "CONTOSO"},     {"fabrikam.local", "FABRIKAM"},
    {"northwind.internal", "NORTHWIND"}, {"ad.adatum.com", "ADATUM"},
    {"tailspintoys.local", "TAILSPIN"},  {"woodgrovebank.com", "WOODGROVE"},
    {"litwareinc.com", "LITWARE"},       {"fourthcoffee.local", "FOURTHCOFFEE"},
    {"wingtiptoys.com", "WINGTIP"},      {"proseware.net", "PROSEWARE"},
};
const size_t catalog_domain_count = ARRAY_LEN(catalog_domains);

const char *const catalog_departments[] = {"FIN",   "HR", "MKT", "SALES", "OPS",
                                           "LEGAL", "IT", "CS",  "PROC",  "ENG"};
const size_t catalog_department_count = ARRAY_LEN(catalog_departments);

const char *const catalog_server_roles[] = {"SQL", "FS",  "DC",  "WEB", "APP",
                                            "PRT", "RDS", "BKP", "CA",  "EXCH"};
const size_t catalog_server_role_count = ARRAY_LEN(catalog_server_roles);
